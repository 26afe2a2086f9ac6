// A cancelled job whose chunk never finishes its own cancel path (its cancelBatch hangs) must not
// wait forever: the job re-sends the cancel, then terminates the chunk and recovers its rows.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a cancelled job whose chunk keeps running', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-stuck', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a chunk stuck in its cancel path is terminated after a grace period and its batch collected: the job ends cancelled with every row', async () => {
    const jobId = `cancel-stuck-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'cancel-stuck.jsonl' });
    // Chunk 0's own cancel path hangs at its cancelBatch until the test ends.
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
      // A job that hangs never settles: bound the wait (generously) so the test can say so.
      const settled = handle.result().then(
        () => 'completed',
        (err: unknown) => err,
      );
      const result = await Promise.race([
        settled,
        new Promise((r) => setTimeout(() => r('still running after 120 s'), 120_000)),
      ]);
      chunkCancel.release();
      return result;
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const chunk = await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).describe();
    expect(chunk.status.name).toBe('TERMINATED');
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(200);
    expect(rows).toHaveLength(200);
    // Chunk 0's batch was collected: the rows it finished kept, the rest cancelled.
    expect(statuses['succeeded'] ?? 0).toBeGreaterThan(0);
    expect(statuses['failed'] ?? 0).toBe(0);
    // Nothing is left billing unwatched.
    expect(env.emulator.stats().batchesByStatus['in_progress'] ?? 0).toBe(0);
  }, 200_000);
});
