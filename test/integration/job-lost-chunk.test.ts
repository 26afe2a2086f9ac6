// A chunk workflow terminated by an operator after the job continued-as-new: the job notices,
// cancels that chunk's batch, keeps the rows it finished, and finishes the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a chunk workflow that ends without reporting', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('lost-chunk', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('terminated after the job continued-as-new: its batch is cancelled, the rows it finished kept, the job completes', async () => {
    const inputUri = await writeChatInput(env, 200, { file: 'lost.jsonl' });
    const jobId = `lost-${Date.now()}`;
    const worker = await env.createWorker();
    const { summary, chunkId } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        // Progress every second makes the job's history reach 50 events (and continue-as-new) while
        // chunk 0 still runs; chunk 1 waits for the single slot.
        {
          jobId,
          endpoint: '/v1/chat/completions',
          inputUri,
          limits: { maxRequests: 100 },
          maxActiveBatches: 1,
          continueAsNewAfterEvents: 50,
          wait: { ...FAST_WAIT, progressRefreshMs: 1_000 },
        },
        { taskQueue: env.taskQueue },
      );
      const chunkId = `${jobId}/r1/c0`;
      await until('the job to continue as new while chunk 0 runs', async () => {
        const latest = await env.conn.client.workflow.getHandle(jobId).describe();
        return (
          latest.runId !== handle.firstExecutionRunId &&
          (await getJobProgress(handle)).active.some((c) => c.index === 0 && c.batchId)
        );
      });
      await env.conn.client.workflow.getHandle(chunkId).terminate('operator mistake');
      env.emulator.setConfig({ rowsPerSecond: 'instant' });
      return {
        summary: (await env.conn.client.workflow.getHandle(jobId).result()) as Awaited<
          ReturnType<typeof handle.result>
        >,
        chunkId,
      };
    });
    expect(summary.status).toBe('completed');
    const rows = await readJsonlFile<{
      custom_id: string;
      status: string;
      error: { code: string; message: string } | null;
    }>(env.storageRoot, summary.resultsUri);
    const { ids } = tally(rows);
    expect(ids.size).toBe(200);
    expect(rows).toHaveLength(200);
    // Chunk 1 ran to the end; chunk 0's batch was cancelled: what it finished is kept, the rest cancelled.
    const chunk0 = tally(rows.filter((r) => Number(r.custom_id.slice(4)) < 100)).statuses;
    const chunk1 = tally(rows.filter((r) => Number(r.custom_id.slice(4)) >= 100)).statuses;
    expect(chunk1).toEqual({ succeeded: 100 });
    expect((chunk0['succeeded'] ?? 0) + (chunk0['cancelled'] ?? 0)).toBe(100);
    expect(rows.filter((r) => r.status === 'cancelled').every((r) => r.error?.code === 'batch_cancelled')).toBe(true);
    expect(chunkId).toBe(`${summary.jobId}/r1/c0`);
    // Nothing is left billing unwatched.
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBe(1);
  });
});
