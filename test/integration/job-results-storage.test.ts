// A job's chunk results in storage (patch results-in-storage), on the paths where they are stored
// outside the main loop's wake: a continue-as-new and a long run of skipped chunks.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, extendJobDeadline, startBatchJob } from '../../src/client/job-client.ts';
import { openStorage, readSmallText } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker, untilCancelHandled } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

/** How many runs the workflow has had (1 + its continue-as-new). */
async function runCount(env: JobEnv, workflowId: string): Promise<number> {
  let runs = 0;
  let runId: string | undefined;
  for (;;) {
    runs += 1;
    const history = await env.conn.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

describe('chunk results in storage', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('results-storage');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('an extendDeadline sent while the job stores its results to continue as new is refused with the reason', async () => {
    const jobId = `storage-closing-${Date.now()}`;
    const inputUri = await writeChatInput(env, 12, { file: 'closing.jsonl' });
    // The first store is the one before the continue-as-new (a part fills at 100 results).
    const store = new ActivityGate('storeChunkResults');
    const worker = await gatedWorker(env, store);
    const { summary, refused } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 1 },
          maxActiveBatches: 2,
          continueAsNewAfterEvents: 60,
          deadline: Date.now() + 3_600_000,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      await store.entered;
      const refused = await extendJobDeadline(handle, Date.now() + 7_200_000).then(
        () => 'accepted',
        (err: unknown) =>
          err instanceof WorkflowUpdateFailedError && err.cause instanceof Error ? err.cause.message : String(err),
      );
      store.release();
      return { summary: await awaitJobSummary(handle), refused };
    });
    expect(refused).toContain('continuing as new');
    expect(summary.status).toBe('completed');
    expect(summary.rows).toBe(12);
    expect(await runCount(env, jobId)).toBeGreaterThan(1);
  }, 600_000);

  it('a cancel that arrives while the job stores its results to continue as new ends the job cancelled', async () => {
    const jobId = `storage-cancel-${Date.now()}`;
    const inputUri = await writeChatInput(env, 12, { file: 'cancel-closing.jsonl' });
    const store = new ActivityGate('storeChunkResults');
    const worker = await gatedWorker(env, store);
    const ended = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 1 },
          maxActiveBatches: 2,
          continueAsNewAfterEvents: 60,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      await store.entered;
      await handle.cancel();
      await untilCancelHandled(env.conn.client, handle);
      store.release();
      return await handle.result().then(
        () => 'completed',
        (err: unknown) => (err instanceof WorkflowFailedError ? err.cause?.constructor.name : String(err)),
      );
    });
    // Before, the run continued as new without the cancel request and the job completed.
    expect(ended).toBe('CancelledFailure');
    const report = JSON.parse(
      await readSmallText(openStorage(env.storageRoot), openStorage(env.storageRoot).jobUri(jobId, 'report.json')),
    ) as { status?: string; extra?: { status?: string } };
    expect(report.extra?.status ?? report.status).toBe('cancelled');
  }, 600_000);

  it('a long run of chunks skipped for the budget stores their results and continues as new in the skip loop', async () => {
    const jobId = `storage-skips-${Date.now()}`;
    const chunks = 250;
    const inputUri = await writeChatInput(env, chunks, { file: 'skips.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 1 },
          // No chunk fits: every one is recorded as not submitted, one after the other.
          maxCostUsd: 1e-12,
          maxRounds: 1,
          continueAsNewAfterEvents: 200,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.skippedForBudget).toBe(chunks);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).ids.size).toBe(chunks);
    expect(rows).toHaveLength(chunks);
    // 250 skips are 750+ events: the skip loop continued as new (before, it ran them all in one run).
    expect(await runCount(env, jobId)).toBeGreaterThan(2);
    const parts = await openStorage(env.storageRoot).list(openStorage(env.storageRoot).jobUri(jobId, 'chunk-results'));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(summary.chunksUri).toBeDefined();
    expect(await readJsonlFile(env.storageRoot, summary.chunksUri ?? '')).toHaveLength(chunks);
  }, 600_000);

  it('a job started again with the same id overwrites the parts the earlier one left, and never takes them', async () => {
    const jobId = `storage-again-${Date.now()}`;
    const run = async (inputUri: string) => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 1 },
          maxActiveBatches: 4,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    };
    const worker = await env.createWorker();
    const [first, second] = await worker.runUntil(async () => [
      await run(await writeChatInput(env, 12, { file: 'again-first.jsonl' })),
      // The same job id, started again once the first has ended: its part p0 is on disk.
      await run(await writeChatInput(env, 5, { file: 'again-second.jsonl' })),
    ]);
    expect(first.rows).toBe(12);
    expect(second.status).toBe('completed');
    expect(second.rows).toBe(5);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, second.resultsUri);
    expect(rows).toHaveLength(5);
    expect(tally(rows).statuses).toEqual({ succeeded: 5 });
    const storage = openStorage(env.storageRoot);
    const part = await readSmallText(storage, storage.jobUri(jobId, 'chunk-results', 'p0.jsonl'));
    expect(part.trim().split('\n')).toHaveLength(5);
  }, 600_000);
});
