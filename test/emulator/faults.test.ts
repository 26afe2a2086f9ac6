import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APIConnectionError, InternalServerError, RateLimitError, toFile } from 'openai';
import type { EmulatorConfigPatch, RouteName } from '../../src/tools/emulator/index.ts';
import { ROUTE_NAMES } from '../../src/tools/emulator/index.ts';
import { FAST, chatLine, openEmulator, sdkClient, type EmulatorFixture } from './support/emulator-fixture.ts';
import { validateSchema } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator(FAST);
});
afterAll(async () => fx?.close());

function only(route: RouteName, faults: NonNullable<EmulatorConfigPatch['faults']>[RouteName]): EmulatorConfigPatch {
  return { faults: { [route]: faults } };
}
const clear = (route: RouteName) => fx.emulator.setConfig({ faults: { [route]: null } });

describe('faults on API calls map to the SDK error classes', () => {
  it('an injected 429 is a RateLimitError carrying retry-after and an OpenAI error body', async () => {
    fx.emulator.setConfig(only('files.list', { rateLimit: 1, retryAfterSeconds: 7 }));
    const err = await fx.client.files.list().catch((e: unknown) => e);
    clear('files.list');
    expect(err).toBeInstanceOf(RateLimitError);
    const rl = err as RateLimitError;
    expect(rl.status).toBe(429);
    expect(rl.code).toBe('rate_limit_exceeded');
    expect(rl.headers?.get('retry-after')).toBe('7');
    expect(validateSchema('Error', rl.error)).toEqual([]);
  });

  it.each([
    ['serverError', 500],
    ['badGateway', 502],
    ['serviceUnavailable', 503],
  ] as const)('an injected %s is an InternalServerError with status %i', async (kind, status) => {
    fx.emulator.setConfig(only('batches.list', { [kind]: 1 }));
    const err = await fx.client.batches.list().catch((e: unknown) => e);
    clear('batches.list');
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).status).toBe(status);
  });

  it('a dropped connection during a streamed upload is an APIConnectionError, and nothing is stored', async () => {
    const path = await fx.writeJsonl(
      'drop.jsonl',
      Array.from({ length: 2000 }, (_, i) => chatLine(`d${i}`)),
    );
    const before = fx.emulator.stats().filesUploaded;
    fx.emulator.setConfig(only('files.create', { dropConnection: 1 }));
    const err = await fx.client.files
      .create({ file: createReadStream(path), purpose: 'batch' })
      .catch((e: unknown) => e);
    clear('files.create');
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(fx.emulator.stats().filesUploaded).toBe(before);
  });

  it('a create whose response is lost still created exactly one batch, findable by its idempotency key', async () => {
    const file = await fx.client.files.create({
      file: await toFile(Buffer.from(JSON.stringify(chatLine('x')) + '\n'), 'lost.jsonl'),
      purpose: 'batch',
    });
    fx.emulator.setConfig(only('batches.create', { dropAfterHandling: 1 }));
    const err = await fx.client.batches
      .create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { idempotency_key: 'lost-1' },
      })
      .catch((e: unknown) => e);
    clear('batches.create');
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(fx.emulator.stats().batchesByIdempotencyKey['lost-1']).toBe(1);
    const found: string[] = [];
    for await (const b of fx.client.batches.list({ limit: 100 }))
      if (b.metadata?.idempotency_key === 'lost-1') found.push(b.id);
    expect(found).toHaveLength(1);
  });

  it('added latency delays a route by the configured time', async () => {
    fx.emulator.setConfig(only('files.list', { latencyMs: 300 }));
    const started = Date.now();
    await fx.client.files.list();
    clear('files.list');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('every route faulted at 15% fails about 15% of calls, reproducibly for the same seed, and the control routes count them', async () => {
    const outcomes = async (seed: number): Promise<string> => {
      const other = await openEmulator({
        ...FAST,
        seed,
        faults: { '*': { rateLimit: 0.05, serverError: 0.05, dropConnection: 0.05 } },
      });
      try {
        const results: string[] = [];
        for (let i = 0; i < 60; i++) {
          const r = await other.client.batches.list().then(
            () => 'ok',
            (e: unknown) =>
              e instanceof RateLimitError
                ? '429'
                : e instanceof InternalServerError
                  ? '500'
                  : e instanceof APIConnectionError
                    ? 'drop'
                    : 'other',
          );
          results.push(r);
        }
        const stats = (await (await fetch(other.emulator.baseURL.replace(/\/v1$/, '/_emulator/stats'))).json()) as {
          faultsInjectedTotal: number;
          callsPerRoute: Record<string, number>;
        };
        expect(stats.callsPerRoute['batches.list']).toBe(60);
        expect(stats.faultsInjectedTotal).toBe(results.filter((r) => r !== 'ok').length);
        return results.join(',');
      } finally {
        await other.close();
      }
    };
    const first = await outcomes(11);
    expect(first).toBe(await outcomes(11));
    expect(first).not.toBe(await outcomes(12));
    const failures = first.split(',').filter((r) => r !== 'ok').length;
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(failures).toBeLessThanOrEqual(20);
    expect(first.split(',')).not.toContain('other');
  });

  it('POST /_emulator/config changes faults while running, per route, and rejects an invalid config', async () => {
    const control = fx.emulator.baseURL.replace(/\/v1$/, '/_emulator/config');
    const post = (body: unknown) =>
      fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const updated = (await (await post({ faults: { 'files.retrieve': { serverError: 1 } } })).json()) as {
      faults: Record<string, unknown>;
    };
    expect(updated.faults['files.retrieve']).toEqual({ serverError: 1 });
    await expect(fx.client.files.retrieve('file-any')).rejects.toBeInstanceOf(InternalServerError);
    // Other routes are untouched.
    await expect(fx.client.files.list()).resolves.toBeDefined();
    await post({ faults: { 'files.retrieve': null } });
    expect((await post({ faults: { 'files.nope': { serverError: 1 } } })).status).toBe(400);
    expect((await post({ rowsPerSecond: -1 })).status).toBe(400);
    expect(ROUTE_NAMES).toContain('files.retrieve');
    await expect(sdkClient(fx.emulator.baseURL).files.retrieve('file-any')).rejects.toHaveProperty('status', 404);
  });
});
