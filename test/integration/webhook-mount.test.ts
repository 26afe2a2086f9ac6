// The receiver mounted in an existing server, as the README shows (examples/webhook-mount.ts):
// Express (behind express.raw) and Fastify (a buffer body parser, then `receiver.handle`), beside
// plain node:http. Each gets a
// signed delivery for a running chunk's batch (signalled), and the same delivery with its body
// changed by a byte (refused: the signature is checked over the raw bytes the server received).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountOnExpress, mountOnFastify } from '../../examples/webhook-mount.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { newWebhookId, signDelivery } from '../../src/tools/emulator/webhooks/sign-event.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';
import { startTestReceiver, type TestReceiver } from '../support/webhook-receiver.ts';

describe('the webhook receiver mounted in Express, Fastify and node:http', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  let worker: Worker;
  let running: Promise<void>;
  let jobId: string;
  let batchId: string;
  let expressServer: Server;
  let fastify: FastifyInstance;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    // One row a minute: the batch runs for the whole file.
    env = await startJobEnv('webhook-mount', { rowsPerSecond: 1 / 60 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
    urls['node:http'] = receiver.url;
    const { receiver: handler } = receiver;

    // Mounted as the README shows (examples/webhook-mount.ts).
    const app = express();
    mountOnExpress(app, handler);
    expressServer = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    urls['express'] = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/openai/webhooks`;
    fastify = Fastify();
    await mountOnFastify(fastify, handler);
    urls['fastify'] = `${await fastify.listen({ port: 0, host: '127.0.0.1' })}/openai/webhooks`;

    jobId = `wh-mount-${Date.now()}`;
    const input = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    worker = await env.createWorker();
    running = worker.run();
    await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri: input,
        endpoint: '/v1/chat/completions',
        wait: { ...FAST_WAIT, minPollMs: 600_000, maxPollMs: 600_000, progressRefreshMs: 3_600_000 },
      },
      { taskQueue: env.taskQueue },
    );
    await until('the chunk has a batch', () => Promise.resolve(env.emulator.inventory().batches.length === 1));
    batchId = env.emulator.inventory().batches[0]?.id as string;
  });
  afterAll(async () => {
    await env?.conn.client.workflow
      .getHandle(jobId)
      .terminate('test over')
      .catch(() => undefined);
    worker?.shutdown();
    await running?.catch(() => undefined);
    await fastify?.close();
    await new Promise<void>((resolve) => {
      if (!expressServer) return resolve();
      expressServer.closeAllConnections();
      expressServer.close(() => resolve());
    });
    await receiver?.close();
    await env?.close();
  });

  for (const server of ['node:http', 'express', 'fastify']) {
    it(`${server}: a signed delivery signals the chunk; the same one with its body changed is refused`, async () => {
      const body = JSON.stringify({
        id: `evt_${server}`,
        object: 'event',
        created_at: 1,
        type: 'batch.completed',
        data: { id: batchId },
      });
      const headers = signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body);
      const post = async (text: string) => {
        const response = await fetch(urls[server] as string, { method: 'POST', headers, body: text });
        return [response.status, ((await response.json()) as { outcome: string }).outcome];
      };
      const signalsBefore = receiver.calls.temporalSignals;
      expect(await post(body.replace('batch.completed', 'batch.completed '))).toEqual([400, 'bad_signature']);
      expect(await post(body)).toEqual([200, 'signalled']);
      expect(await post(body)).toEqual([200, 'duplicate']);
      expect(receiver.calls.temporalSignals - signalsBefore).toBe(1);
    });
  }

  it('express.json() in front of it: refused with a message that says to mount it on the raw body', async () => {
    const app = express();
    app.use(express.json({ type: '*/*' }));
    app.post('/', receiver.receiver.nodeHandler);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const body = JSON.stringify({ id: 'evt_json', object: 'event', type: 'batch.completed', data: { id: batchId } });
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body),
        body,
      });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { detail: string }).detail).toContain('express.raw');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
