// A cancelled job whose chunk workflow is terminated while it cancels must still end.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a chunk that ends without reporting while its job is cancelling', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-lost', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a chunk terminated during its cancel: the job still ends cancelled with every row in results.jsonl', async () => {
    const jobId = `cancel-lost-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'cancel-lost.jsonl' });
    // Chunk 0's own cancel path is held at its cancelBatch; the chunk is terminated there.
    const chunkCancel = new ActivityGate('cancelBatch');
    const worker = await gatedWorker(env, chunkCancel);
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 100 },
          maxActiveBatches: 1,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      await until(
        'chunk 0 to run its batch',
        async () =>
          (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.index === 0 && c.done > 0) ??
          false,
      );
      await handle.cancel();
      await chunkCancel.entered;
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('terminated while cancelling');
      chunkCancel.release();
      // A job that hangs never settles: bound the wait (generously) so the test can say so.
      const settled = handle.result().then(
        () => 'completed',
        (err: unknown) => err,
      );
      return await Promise.race([settled, new Promise((r) => setTimeout(() => r('still running after 90 s'), 90_000))]);
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    expect(tally(rows).ids.size).toBe(200);
    expect(rows).toHaveLength(200);
    // Nothing is left billing unwatched.
    expect(env.emulator.stats().batchesByStatus['in_progress'] ?? 0).toBe(0);
  }, 150_000);
});
