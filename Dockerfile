# The worker, built from this repository. Node 24 strips TypeScript types itself, so the sources run
# as they are; no build step.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# V8's young generation would grow to 128 MB under the activities' streams (README, Workers: Memory).
ENV NODE_OPTIONS=--max-semi-space-size=16
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY common ./common
COPY bin ./bin
COPY worker.ts ./
RUN mkdir -p /data && chown node:node /data
USER node
CMD ["node", "worker.ts"]
