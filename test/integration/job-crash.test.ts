import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import type { CrashPoint } from '../../activities/crash-point.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { spawnWorker } from '../support/worker-process.ts';

describe('a worker process killed with SIGKILL', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('crash', { rowsPerSecond: 200 });
  });
  afterAll(async () => {
    await env?.close();
  });

  const points: CrashPoint[] = ['during-upload', 'during-poll', 'after-create'];
  for (const point of points) {
    it(`killed ${point}: a new worker finishes the job with exactly one batch per chunk and each custom_id once`, async () => {
      const jobId = `crash-${point}-${Date.now()}`;
      const inputUri = await writeChatInput(env, 400, { file: `${point}.jsonl` });
      const doomed = spawnWorker({
        OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
        OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
        OPENAI_BASE_URL: env.emulator.baseURL,
        OPENAI_API_KEY: 'sk-test-not-a-secret',
        OPENAI_BATCH_TEST_CRASH_AT: point,
      });
      try {
        const handle = await startBatchJob(
          env.conn.client,
          { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 200 }, wait: FAST_WAIT },
          { taskQueue: env.taskQueue },
        );
        const ended = await doomed.exited;
        expect(ended.signal, doomed.output()).toBe('SIGKILL');
        if (point === 'after-create') {
          // OpenAI created a batch that Temporal never recorded.
          expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId]).toBeGreaterThanOrEqual(1);
        }
        const worker = await env.createWorker();
        const summary = await worker.runUntil(async () => await handle.result());
        expect(summary.status).toBe('completed');
      } finally {
        await doomed.stop();
      }
      const stats = env.emulator.stats({ metadataKeys: ['job_id', 'round', 'chunk'] });
      const mine = Object.entries(stats.batchesByMetadata).filter(([k]) => k.startsWith(`${jobId}/`));
      expect(mine.map(([k]) => k).sort()).toEqual([`${jobId}/1/0`, `${jobId}/1/1`]);
      expect(mine.every(([, n]) => n === 1)).toBe(true);
      const rows = await readJsonlFile<{ custom_id: string; status: string }>(
        env.storageRoot,
        env.storageRoot.replace(/\/?$/, '/') + `${jobId}/results.jsonl`,
      );
      const { ids, statuses } = tally(rows);
      expect(rows).toHaveLength(400);
      expect(ids.size).toBe(400);
      expect(statuses).toEqual({ succeeded: 400 });
    });
  }
});
