import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { spawnWorker } from '../support/worker-process.ts';

describe('a retry while the first create is still on its way', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every create is held 8 s before OpenAI handles it: far past the 1 s heartbeat timeout and the
    // 1 s retry interval, so the next attempt starts while the first create has not landed.
    env = await startJobEnv('create-inflight', { faults: { 'batches.create': { latencyMs: 8_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a worker killed while its create is in flight: the retry waits it out and adopts its batch, one batch per key', async () => {
    const jobId = `create-inflight-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'inflight.jsonl' });
    // Bundled before the kill, so that the retry starts while the first create is still held.
    const worker = await env.createWorker();
    const doomed = spawnWorker({
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
      OPENAI_BASE_URL: env.emulator.baseURL,
      OPENAI_API_KEY: 'sk-test-not-a-secret',
      OPENAI_BATCH_TEST_CRASH_AT: 'during-create',
    });
    try {
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
      const ended = await doomed.exited;
      expect(ended.signal, doomed.output()).toBe('SIGKILL');
      // The create reached OpenAI and has not been carried out yet.
      expect(env.emulator.stats().callsPerRoute['batches.create']).toBe(1);
      expect(env.emulator.stats().batchesCreated).toBe(0);
      const summary = await worker.runUntil(async () => await handle.result());
      expect(summary.status).toBe('completed');
      const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
      const keys = Object.entries(stats.batchesByIdempotencyKey).filter(([key]) => key.startsWith(`${jobId}:`));
      expect(
        keys.map(([, n]) => n),
        `batches per idempotency key: ${JSON.stringify(keys)}`,
      ).toEqual([1]);
      expect(stats.batchesByMetadata[jobId]).toBe(1);
      const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
      const { ids, statuses } = tally(rows);
      expect(ids.size).toBe(100);
      expect(statuses).toEqual({ succeeded: 100 });
    } finally {
      await doomed.stop();
    }
  });
});
