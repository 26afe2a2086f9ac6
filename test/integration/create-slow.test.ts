import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a create slower than the heartbeat timeout', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every create is held 4 s before OpenAI handles it; the activities' heartbeat timeout is 1 s.
    env = await startJobEnv('create-slow', { faults: { 'batches.create': { latencyMs: 4_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a create that outlasts the heartbeat timeout creates one batch, and the job completes with each row once', async () => {
    const jobId = `create-slow-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'slow.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 200 },
          wait: { ...FAST_WAIT, heartbeatTimeoutMs: 1_000 },
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    const keys = Object.entries(stats.batchesByIdempotencyKey).filter(([key]) => key.startsWith(`${jobId}:`));
    expect(keys, JSON.stringify(keys)).toHaveLength(1);
    expect(
      keys.every(([, n]) => n === 1),
      `batches per idempotency key: ${JSON.stringify(keys)}`,
    ).toBe(true);
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(100);
    expect(ids.size).toBe(100);
    expect(statuses).toEqual({ succeeded: 100 });
  });
});
