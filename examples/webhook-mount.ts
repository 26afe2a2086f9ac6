import type { Express } from 'express';
import express from 'express';
import type { FastifyInstance } from 'fastify';
import type { WebhookReceiver } from '../src/index.ts';

/** Express: the raw body on this route only, then the receiver's node handler. */
export function mountOnExpress(app: Express, receiver: WebhookReceiver, path = '/openai/webhooks'): void {
  app.post(path, express.raw({ type: '*/*' }), receiver.nodeHandler);
}

/** Fastify: a buffer body parser in a scope of its own (the rest keeps its JSON parser), then `handle`. */
export async function mountOnFastify(
  fastify: FastifyInstance,
  receiver: WebhookReceiver,
  path = '/openai/webhooks',
): Promise<void> {
  await fastify.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, parsed) => parsed(null, body));
    scope.post(path, async (request, reply) => {
      const answer = await receiver.handle((request.body as Buffer).toString('utf8'), request.headers);
      return await reply
        .code(answer.status)
        .headers(answer.headers ?? {})
        .send(answer.body);
    });
    done();
  });
}
