// A base URL carrying credentials must not leak them through the failures activities report:
// fetch refuses such a URL with an error that quotes it whole, and that error is the cause Temporal
// records for the attempt (pending activity, then history).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { startBatchJob } from '../../src/client/job-client.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { createOpenAIClient } from '../../src/openai/client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import { until } from '../support/until.ts';

/** Every string and byte array (payload data decoded as UTF-8) of a value, joined. */
function text(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(text).join('\n');
  return '';
}

describe('a base URL with credentials in it', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('io-base-url');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a job whose worker base URL has user:password@ records no trace of the password in its workflows', async () => {
    const url = new URL(env.emulator.baseURL);
    url.username = 'gateway-user';
    url.password = 'hunter2-password';
    const jobId = `io-base-url-${Date.now()}`;
    const inputUri = await writeChatInput(env, 3, { file: 'base-url.jsonl' });
    const worker = await Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: env.taskQueue,
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: env.storageRoot,
          openaiBaseUrl: url.href,
          openaiApiKey: 'sk-test-not-a-secret',
        }),
      ],
    });
    const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
    let seen = '';
    await worker.runUntil(async () => {
      const job = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      // The upload has failed at least once: its failure is on record (pending activity or history).
      await until('the upload to fail', async () => {
        const description = await chunk.describe().catch(() => undefined);
        const pending = description?.raw.pendingActivities?.find((a) => a.lastFailure);
        const history = description ? await chunk.fetchHistory() : undefined;
        const failed = (history?.events ?? []).some((e) => e.activityTaskFailedEventAttributes);
        if (pending) seen += text(pending.lastFailure);
        return Boolean(pending) || failed;
      });
      seen += text(await chunk.fetchHistory());
      await job.cancel();
      await job.result().catch(() => undefined);
      seen += text(await job.fetchHistory());
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).not.toContain('hunter2-password');
    expect(seen).not.toContain('gateway-user');
  });

  it('query parameters of the base URL are sent with every request, not pasted into paths', async () => {
    const client = createOpenAIClient({
      apiKey: 'sk-test-not-a-secret',
      baseURL: `${env.emulator.baseURL}?api-version=2025-01-01`,
    });
    expect(client.baseURL).toBe(env.emulator.baseURL);
    const before = env.emulator.stats().callsPerRoute['files.list'] ?? 0;
    await client.files.list();
    expect(env.emulator.stats().callsPerRoute['files.list']).toBe(before + 1);
  });
});
