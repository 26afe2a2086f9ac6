// The emulator in Azure and Groq mode: each service's paths, auth, limits, expiry and error bodies,
// called through the clients the plugin builds for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import { createAzureClient } from '../../src/openai/providers/azure-client.ts';
import {
  FAST,
  chatLine,
  openEmulator,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';

const KEY = 'azure-key-not-a-secret';
const TOKEN = 'entra-token-not-a-secret';

async function runChatBatch(fx: EmulatorFixture, client: OpenAI, model = 'gpt-4o-batch') {
  const path = await fx.writeJsonl(`b-${Math.random()}.jsonl`, [chatLine('a', 'x', model), chatLine('b', 'y', model)]);
  const file = await uploadBatchFile(client, path);
  const created = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return await waitForStatus(client, created.id, ['completed', 'failed', 'expired']);
}

describe('the emulator in Azure mode', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    fx = await openEmulator({
      ...FAST,
      provider: 'azure',
      apiKeys: [KEY],
      azure: { apiVersions: ['2025-03-01-preview'], deployments: ['gpt-4o-batch'], entraTokens: [TOKEN] },
    });
  });
  afterAll(async () => fx?.close());

  it('serves the v1 API at /openai/v1 with the api-key header, and takes Azure limits (100,000 requests)', async () => {
    expect(fx.emulator.baseURL).toBe(`${fx.emulator.origin}/openai/v1`);
    expect(fx.emulator.config().limits.maxRequests).toBe(100_000);
    const batch = await runChatBatch(fx, createAzureClient({ baseURL: fx.emulator.origin, apiKey: KEY }));
    expect(batch.status).toBe('completed');
    expect(batch.request_counts?.completed).toBe(2);
  });

  it('serves the dated API at /openai/...?api-version=, and an Entra ID token as Bearer', async () => {
    const client = createAzureClient({
      baseURL: `${fx.emulator.origin}/openai`,
      apiVersion: '2025-03-01-preview',
      azureADTokenProvider: () => Promise.resolve(TOKEN),
    });
    expect((await runChatBatch(fx, client)).status).toBe('completed');
  });

  it('answers a dated path without api-version 400 MissingApiVersionParameter, and an unknown version 404, in Azure shape', async () => {
    const missing = await fetch(`${fx.emulator.origin}/openai/batches`, { headers: { 'api-key': KEY } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: {
        code: 'MissingApiVersionParameter',
        message: 'The api-version query parameter (?api-version=) is required for all requests.',
      },
    });
    const unknown = await fetch(`${fx.emulator.origin}/openai/batches?api-version=2020-01-01`, {
      headers: { 'api-key': KEY },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  it('refuses a call without a credential, or with a wrong one, 401 in Azure shape; OpenAI paths are not found', async () => {
    for (const headers of [{}, { 'api-key': 'wrong' }, { authorization: 'Bearer wrong' }]) {
      const res = await fetch(`${fx.emulator.origin}/openai/v1/files`, { headers });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
      expect(body.error['code']).toBe('401');
    }
    expect((await fetch(`${fx.emulator.origin}/v1/files`, { headers: { 'api-key': KEY } })).status).toBe(404);
  });

  it('has no batches under /deployments/{d}: an AzureOpenAI client with a deployment gets 404 on batches.create', async () => {
    const file = await uploadBatchFile(
      createAzureClient({ baseURL: fx.emulator.origin, apiKey: KEY }),
      await fx.writeJsonl('dep.jsonl', [chatLine('a', 'x', 'gpt-4o-batch')]),
    );
    const pitfall = new AzureOpenAI({
      baseURL: `${fx.emulator.origin}/openai`,
      apiVersion: '2025-03-01-preview',
      apiKey: KEY,
      deployment: 'gpt-4o-batch',
      maxRetries: 0,
    });
    const before = fx.emulator.stats().batchesCreated;
    const err = await pitfall.batches
      .create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      code: '404',
      message: 'Resource not found',
    });
    expect(fx.emulator.stats().batchesCreated).toBe(before);
  });

  it("fails a batch whose model is not one of the resource's batch deployments with model_not_found", async () => {
    const batch = await runChatBatch(fx, createAzureClient({ baseURL: fx.emulator.origin, apiKey: KEY }), 'gpt-4o');
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data?.[0]).toMatchObject({ code: 'model_not_found', param: 'body.model' });
    expect(batch.errors?.data?.[0]?.message).toContain("'gpt-4o'");
  });
});

describe('the emulator in Azure mode past the completion window', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    // 4 rows at 2 per second: done 2 s after a 0.3 s window ended (a whole second apart in the API's seconds).
    fx = await openEmulator({ ...FAST, provider: 'azure', rowsPerSecond: 2, completionWindowSeconds: 0.3 });
  });
  afterAll(async () => fx?.close());

  it('does not expire a batch at the end of its window: it runs until done', async () => {
    const client = createAzureClient({ baseURL: fx.emulator.origin, apiKey: KEY });
    const path = await fx.writeJsonl(
      'slow.jsonl',
      ['a', 'b', 'c', 'd'].map((id) => chatLine(id)),
    );
    const file = await uploadBatchFile(client, path);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await waitForStatus(client, created.id, ['completed', 'expired']);
    expect(done.status).toBe('completed');
    expect(done.expired_at).toBeNull();
    expect(done.completed_at!).toBeGreaterThan(done.expires_at!);
    expect(done.request_counts?.completed).toBe(4);
  });
});

describe('the emulator in Azure mode with a fail-fast token queue', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    fx = await openEmulator({
      ...FAST,
      provider: 'azure',
      rowsPerSecond: 1,
      enqueuedTokenLimit: { '*': 60 },
      azure: { failFastTokenLimit: true, failFastRetryAfterSeconds: 2 },
    });
  });
  afterAll(async () => fx?.close());

  it('refuses a create that would overfill the queue with 400 token_limit_exceeded and makes no batch', async () => {
    const client = createAzureClient({ baseURL: fx.emulator.origin, apiKey: KEY });
    const lines = ['a', 'b'].map((id) => chatLine(id, 'Classify review: good value, fast shipping.'));
    const first = await uploadBatchFile(client, await fx.writeJsonl('q1.jsonl', lines));
    const second = await uploadBatchFile(client, await fx.writeJsonl('q2.jsonl', lines));
    const params = { endpoint: '/v1/chat/completions', completion_window: '24h' } as const;
    await client.batches.create({ input_file_id: first.id, ...params });
    const err = await client.batches.create({ input_file_id: second.id, ...params }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const refused = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refused.code).toBe('token_limit_exceeded');
    expect(refused.headers?.get('retry-after')).toBe('2');
    expect(fx.emulator.stats().batchesCreated).toBe(1);
  });
});

describe('the emulator in Groq mode', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    fx = await openEmulator({ ...FAST, provider: 'groq' });
  });
  afterAll(async () => fx?.close());

  it('serves /openai/v1 with Bearer auth and refuses any batch endpoint but chat completions, 400 in its shape', async () => {
    expect(fx.emulator.baseURL).toBe(`${fx.emulator.origin}/openai/v1`);
    const client = new OpenAI({ baseURL: fx.emulator.baseURL, apiKey: 'gsk-not-a-secret', maxRetries: 0 });
    expect((await runChatBatch(fx, client)).status).toBe('completed');
    const file = await uploadBatchFile(
      client,
      await fx.writeJsonl('emb.jsonl', [
        { custom_id: 'e', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } },
      ]),
    );
    const err = await client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      param: 'endpoint',
      code: 'invalid_value',
      type: 'invalid_request_error',
    });
  });
});
