// The receiver's answers that depend on other deliveries: an id still being handled, an id whose
// first attempt failed, and what reject lines say of an id nobody verified. The receiver runs on
// node:http in front of the real emulator; these deliveries never reach Temporal (the batch is
// unknown to OpenAI, so it is acknowledged as unowned), which the unreachable client proves.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/tools/emulator/index.ts';
import { newWebhookId, signDelivery } from '../../src/tools/emulator/webhooks/sign-event.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/index.ts';

const OTHER_SECRET = `whsec_${Buffer.from('not-the-endpoint-secret!').toString('base64')}`;

function eventBody(batchId: string): string {
  return JSON.stringify({
    id: `evt_${Date.now()}`,
    object: 'event',
    created_at: 1,
    type: 'batch.completed',
    data: { id: batchId },
  });
}

describe('the receiver answers by what became of earlier attempts with the same webhook-id', () => {
  let dir: string;
  let emulator: RunningEmulator;
  let server: Server;
  let url: string;
  let receiver: WebhookReceiver;
  const lines: string[] = [];

  async function post(body: string, headers: Record<string, string>) {
    const response = await fetch(url, { method: 'POST', headers, body });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      outcome: ((await response.json()) as { outcome: string }).outcome,
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhook-inflight-'));
    emulator = await startEmulator({ port: 0, stateDir: join(dir, 'emulator') });
    receiver = createWebhookReceiver({
      // Nothing here may reach Temporal: nothing listens on this port.
      temporal: new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
      openai: new OpenAI({ baseURL: emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0, timeout: 10_000 }),
      secret: EMULATOR_WEBHOOK_SECRET,
      log: (_level, line) => lines.push(line),
    });
    server = createServer((req, res) => receiver.nodeHandler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await emulator?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a redelivery while the first attempt is still in flight is refused (409, Retry-After); after that attempt fails, the next is handled', async () => {
    // The first attempt's batch lookup takes 1.5 s and then fails (503 from OpenAI).
    emulator.setConfig({ faults: { 'batches.retrieve': { latencyMs: 1_500, serviceUnavailable: 1 } } });
    const body = eventBody('batch_unknown_to_openai');
    const headers = signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body);
    const first = post(body, headers);
    // Until the first attempt answers, the id is neither new nor handled.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await post(body, headers);
    expect([during.status, during.outcome]).toEqual([409, 'in_flight']);
    expect(Number(during.retryAfter)).toBeGreaterThan(0);
    expect(await first).toMatchObject({ status: 503, outcome: 'failed' });
    // OpenAI's retry of the failed delivery is handled, not taken for a duplicate.
    emulator.setConfig({ faults: { 'batches.retrieve': null } });
    const retry = await post(body, headers);
    expect([retry.status, retry.outcome]).toEqual([200, 'unowned']);
    // Once handled, the same id is a duplicate.
    const again = await post(body, headers);
    expect([again.status, again.outcome]).toEqual([200, 'duplicate']);
    expect(receiver.counters()).toMatchObject({ failed: 1, unowned: 1, duplicates: 1 });
  });

  it('reject lines never echo a webhook-id nobody verified', async () => {
    const body = eventBody('batch_x');
    const forgedId = 'msg_FORGED_ID_0123456789';
    for (const headers of [
      signDelivery(OTHER_SECRET, forgedId, body),
      signDelivery(EMULATOR_WEBHOOK_SECRET, forgedId, body, Date.now() - 600_000),
    ]) {
      const answer = await post(body, headers);
      expect(answer.status).toBe(400);
    }
    const rejects = lines.filter((l) => l.includes('rejected'));
    expect(rejects.map((l) => l.replace(/\(.*$/, '').trim())).toEqual([
      '[webhooks] rejected bad_signature',
      '[webhooks] rejected stale_timestamp',
    ]);
    expect(rejects.join('\n')).not.toContain('FORGED');
  });
});
