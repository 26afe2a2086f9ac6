import { createReadStream } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';
import { until } from '../support/until.ts';
import { chatLine, FAST, openEmulator, type EmulatorFixture } from './support/emulator-fixture.ts';

/** An endpoint that records each delivery and answers with the next status of `statuses` (then 200). */
async function startEndpoint(statuses: number[] = []) {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the emulator delivers batch webhooks', () => {
  let fx: EmulatorFixture;
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  beforeEach(async () => {
    fx = await openEmulator(FAST);
  });
  afterEach(async () => {
    await fx?.close();
    await endpoint?.close();
  });

  async function batch(lines: unknown[]) {
    const path = await fx.writeJsonl(`in-${Date.now()}-${Math.random()}.jsonl`, lines);
    const file = await fx.client.files.create({ file: createReadStream(path), purpose: 'batch' });
    return await fx.client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
  }

  it('a completed batch is delivered once as batch.completed, signed so that the SDK verifies it', async () => {
    endpoint = await startEndpoint();
    fx.emulator.setConfig({ webhooks: { url: endpoint.url } });
    const created = await batch([chatLine('a'), chatLine('b')]);
    // The endpoint records a request before its answer reaches the emulator: wait for the emulator's count.
    await until('the delivery', () => Promise.resolve(fx.emulator.webhooks().delivered === 1));
    const [delivery] = endpoint.received;
    const verifier = new OpenAI({ apiKey: 'unused', baseURL: fx.emulator.baseURL });
    const event = (await verifier.webhooks.unwrap(
      delivery?.body as string,
      delivery?.headers ?? {},
      EMULATOR_WEBHOOK_SECRET,
    )) as { type: string; data: { id: string } };
    expect(event.type).toBe('batch.completed');
    expect(event.data.id).toBe(created.id);
    expect((await fx.client.batches.retrieve(created.id)).status).toBe('completed');
    const stats = fx.emulator.webhooks();
    expect([stats.eventsRaised, stats.attempts, stats.delivered]).toEqual([1, 1, 1]);
  });

  it('a delivery answered non-2xx is retried on the configured delays, with the same webhook-id, until a 2xx', async () => {
    endpoint = await startEndpoint([500, 400]);
    fx.emulator.setConfig({ webhooks: { url: endpoint.url, retryDelaysMs: [50, 50, 50] } });
    await batch([chatLine('a')]);
    await until('the delivery', () => Promise.resolve(fx.emulator.webhooks().delivered === 1));
    expect(endpoint.received).toHaveLength(3);
    expect(new Set(endpoint.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const [event] = fx.emulator.webhooks().events;
    expect(event?.attempts.map((a) => a.status)).toEqual([500, 400, 200]);
    expect(fx.emulator.webhooks()).toMatchObject({ failedAttempts: 2, retries: 2, delivered: 1, abandoned: 0 });
  });

  it('a delivery that is never answered 2xx is abandoned after its retries', async () => {
    endpoint = await startEndpoint([503, 503, 503]);
    fx.emulator.setConfig({ webhooks: { url: endpoint.url, retryDelaysMs: [20, 20] } });
    await batch([chatLine('a')]);
    await until('abandoned', () => Promise.resolve(fx.emulator.webhooks().abandoned === 1));
    expect(endpoint.received).toHaveLength(3);
  });

  it('lost deliveries are never sent; duplicates are sent twice; failed and cancelled batches have their own types', async () => {
    endpoint = await startEndpoint();
    fx.emulator.setConfig({ webhooks: { url: endpoint.url, lostRate: 1 } });
    const lost = await batch([chatLine('a')]);
    await until('raised', () => Promise.resolve(fx.emulator.webhooks().eventsRaised === 1));
    fx.emulator.setConfig({ webhooks: { lostRate: 0, duplicateRate: 1 } });
    const invalid = await batch(['not json']);
    await until('two copies', () => Promise.resolve(fx.emulator.webhooks().attempts === 2));
    fx.emulator.setConfig({ webhooks: { duplicateRate: 0 }, rowsPerSecond: 0.01 });
    const cancelled = await batch([chatLine('a'), chatLine('b')]);
    await fx.client.batches.cancel(cancelled.id);
    await until('the cancel event', () => Promise.resolve(fx.emulator.webhooks().attempts === 3));
    expect(endpoint.received).toHaveLength(3);
    const types = fx.emulator.webhooks().events.map((e) => [e.batchId, e.type, e.lost, e.attempts.length]);
    expect(types).toEqual([
      [lost.id, 'batch.completed', true, 0],
      [invalid.id, 'batch.failed', false, 2],
      [cancelled.id, 'batch.cancelled', false, 1],
    ]);
    expect(endpoint.received[0]?.headers['webhook-id']).toBe(endpoint.received[1]?.headers['webhook-id']);
  });

  it('GET /_emulator/config never shows the webhook secret', async () => {
    const config = (await (await fetch(fx.emulator.baseURL.replace('/v1', '/_emulator/config'))).json()) as {
      webhooks: { secret: string };
    };
    expect(config.webhooks.secret).toBe('(set)');
  });
});
