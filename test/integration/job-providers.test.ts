// A job runs end to end through each provider profile, against the emulator speaking that service:
// Azure's v1 and dated API with key and Entra ID auth, Groq, and an unnamed compatible service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import type { OpenAIBatchPluginOptions } from '../../src/plugin.ts';
import { azureEntraPlugin, azureKeyPlugin, compatiblePlugin, groqPlugin } from '../../examples/provider-plugins.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

const KEY = 'azure-key-not-a-secret-7f3a';
const TOKEN = 'entra-token-not-a-secret-91cd';
const VERSION = '2025-03-01-preview';

/** Every string and byte array (payload data decoded as UTF-8) of a value, joined. */
function text(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(text).join('\n');
  return '';
}

/** Runs a 12-row job on a worker with `plugin`; returns its summary and its history's text. */
async function runJob(env: JobEnv, name: string, plugin: Partial<OpenAIBatchPluginOptions>, model = 'gpt-4o-batch') {
  const inputUri = await writeChatInput(env, 12, { file: `${name}.jsonl`, model });
  const jobId = `providers-${name}-${Date.now()}`;
  const worker = await env.createWorker(plugin);
  return await worker.runUntil(async () => {
    const handle = await startBatchJob(
      env.conn.client,
      { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
      { taskQueue: env.taskQueue },
    );
    const summary = await awaitJobSummary(handle);
    const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
    return { summary, history: text(await handle.fetchHistory()) + text(await chunk.fetchHistory()) };
  });
}

describe('a job through Azure OpenAI (the emulator in Azure mode)', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('azure', {
      provider: 'azure',
      apiKeys: [KEY],
      azure: { apiVersions: [VERSION], deployments: ['gpt-4o-batch'], entraTokens: [TOKEN] },
    });
  });
  afterAll(async () => env?.close());

  it('runs on the v1 API (/openai/v1) with the api-key header, and the key is nowhere in history', async () => {
    const before = env.emulator.stats().callsPerRoute;
    const { summary, history } = await runJob(env, 'azure-v1', azureKeyPlugin(env.emulator.baseURL, KEY));
    expect(env.emulator.baseURL.endsWith('/openai/v1')).toBe(true);
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
    expect(env.emulator.stats().callsPerRoute['batches.create']).toBe((before['batches.create'] ?? 0) + 1);
    expect(history).not.toContain(KEY);
  });

  it('runs on the dated API (/openai?api-version=) with an Entra ID token provider, and the token is nowhere in history', async () => {
    let calls = 0;
    // job-env passes a key too: the token provider wins, and no key is sent.
    const { summary, history } = await runJob(
      env,
      'azure-dated',
      azureEntraPlugin(`${env.emulator.origin}/openai`, () => {
        calls += 1;
        return Promise.resolve(TOKEN);
      }),
    );
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
    expect(calls).toBeGreaterThan(0);
    expect(history).not.toContain(TOKEN);
  });
});

describe('a job through Azure OpenAI past the 24 h window', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // A 0.5 s "24 h" window and 4 rows per second: the batch is still running when its window ends.
    env = await startJobEnv('azure-window', { provider: 'azure', completionWindowSeconds: 0.5, rowsPerSecond: 4 });
  });
  afterAll(async () => env?.close());

  it('keeps waiting for a batch Azure does not expire, and every row succeeds', async () => {
    const { summary } = await runJob(env, 'azure-window', azureKeyPlugin(env.emulator.baseURL, KEY));
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
    expect(summary.counts.expired ?? 0).toBe(0);
    expect(env.emulator.stats().batchesByStatus).toEqual({ completed: 1 });
  });
});

describe("a job through Azure OpenAI's fail-fast token queue", () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Room for one 6-row chunk in the queue, not two: the second create is refused until the first ends.
    env = await startJobEnv('azure-fail-fast', {
      provider: 'azure',
      rowsPerSecond: 4,
      enqueuedTokenLimit: { '*': 200 },
      azure: { failFastTokenLimit: true, failFastRetryAfterSeconds: 1 },
    });
  });
  afterAll(async () => env?.close());

  it('waits out a create refused with 400 token_limit_exceeded, then creates it, and every row succeeds', async () => {
    const inputUri = await writeChatInput(env, 12, { file: 'fail-fast.jsonl', model: 'gpt-4o-batch' });
    const worker = await env.createWorker(azureKeyPlugin(env.emulator.baseURL, KEY));
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId: `providers-fail-fast-${Date.now()}`,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 6 },
          maxActiveBatches: 2,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
    const stats = env.emulator.stats();
    expect(stats.batchesCreated).toBe(2);
    // At least one create was refused (no batch made) before the second chunk's went through.
    expect(stats.callsPerRoute['batches.create']).toBeGreaterThan(2);
  });
});

describe('a job through Groq (the emulator in Groq mode)', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('groq', { provider: 'groq' });
  });
  afterAll(async () => env?.close());

  it('runs chat completions at /openai/v1 with Bearer auth', async () => {
    const { summary } = await runJob(env, 'groq', groqPlugin(env.emulator.baseURL, 'gsk-not-a-secret'));
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
  });
});

describe('a job through an unnamed OpenAI-compatible service', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('compatible');
  });
  afterAll(async () => env?.close());

  it('infers `compatible` from a base URL that is no known service and runs with OpenAI’s shapes', async () => {
    const { summary } = await runJob(env, 'compatible', compatiblePlugin(env.emulator.baseURL, 'sk-not-a-secret'));
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(12);
  });
});
