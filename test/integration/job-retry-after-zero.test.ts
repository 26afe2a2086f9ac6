import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a 429 that says "retry-after: 0"', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every download and every retrieve is refused once in a while with retry-after 0: "retry now".
    env = await startJobEnv('retry-after-zero', {
      faults: {
        'files.content': { rateLimit: 0.5, retryAfterSeconds: 0 },
        'batches.retrieve': { rateLimit: 0.3, retryAfterSeconds: 0 },
      },
      rowsPerSecond: 500,
      seed: 11,
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('is retried like any 429: the job completes with every row succeeded', async () => {
    const jobId = `retry-after-zero-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'retry-after-zero.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 50 }, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    const stats = env.emulator.stats();
    expect(stats.faultsInjected['files.content']?.['rateLimit'] ?? 0).toBeGreaterThan(0);
    expect(summary.status).toBe('completed');
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(200);
    expect(statuses).toEqual({ succeeded: 200 });
  });
});
