// The operator's updates on a running job (retryFailedRows, extendDeadline), and the summaries
// the UI shows on activities, against the real dev server and the emulator.
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendJobDeadline, getJobProgress, retryFailedRowsNow, startBatchJob } from '../../src/client/job-client.ts';
import { chunkWorkflowId } from '../../common/job-options.ts';
import type { JobProgress } from '../../common/job-types.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

interface ResultLine {
  custom_id: string;
  status: string;
  round: number;
}

/** The message the job gave when it refused an update. */
async function refusal(sent: Promise<unknown>): Promise<string> {
  const err = await sent.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  return cause instanceof Error ? cause.message : String(cause);
}

async function eventTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    Object.keys(e).filter((k) => k.endsWith('EventAttributes') && e[k as keyof typeof e]),
  );
}

describe('updates on a running job', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('updates');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('retryFailedRows starts the next round from the finished chunks while a slow batch still runs', async () => {
    // Chunk 0 (1,500 rows) takes 15 s at 100 rows/s; chunk 1 (100 rows) ends after about 1 s.
    env.emulator.setConfig({ rowsPerSecond: 100, rowErrors: { server_error: 0.2 }, completionWindowSeconds: 86_400 });
    const inputUri = await writeChatInput(env, 1_600, { file: 'retry-now.jsonl' });
    const jobId = `retry-now-${Date.now()}`;
    const worker = await env.createWorker();
    const { summary, progressAfter, refusals, result } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          endpoint: '/v1/chat/completions',
          inputUri,
          wait: FAST_WAIT,
          limits: { maxRequests: 1_500 },
          maxRounds: 4,
        },
        { taskQueue: env.taskQueue },
      );
      const refusals = [await refusal(retryFailedRowsNow(handle))];
      let progress: JobProgress | undefined;
      await until('chunk 1 to finish while chunk 0 runs', async () => {
        progress = await getJobProgress(handle);
        return progress.chunks.done >= 1;
      });
      expect(progress?.chunks.active).toBe(1);
      expect(progress?.counts.failed ?? 0).toBeGreaterThan(0);
      env.emulator.setConfig({ rowErrors: { server_error: 0 } });
      // Two requests at once: one starts the round, the other is refused; neither hangs.
      const [first, second] = await Promise.allSettled([retryFailedRowsNow(handle), retryFailedRowsNow(handle)]);
      const settled = [first, second];
      const fulfilled = settled.filter((r) => r.status === 'fulfilled');
      expect(fulfilled).toHaveLength(1);
      const result = (fulfilled[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof retryFailedRowsNow>>>).value;
      const refused = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      refusals.push(await refusal(Promise.reject(refused.reason as Error)));
      const progressAfter = await getJobProgress(handle);
      // A second request while no other finished chunk has rows to retry is refused.
      refusals.push(await refusal(retryFailedRowsNow(handle)));
      const summary = await handle.result();
      const types = await eventTypes(handle);
      return { summary, progressAfter, refusals, result, types };
    });
    expect(refusals[0]).toMatch(
      /retryFailedRows rejected: the job is still planning|retryFailedRows rejected: no finished chunk has retryable rows yet/,
    );
    // Round 2's chunk and round 1's slow chunk are running; neither has finished.
    expect(refusals[1]).toContain('retryFailedRows rejected: a retry round is already being started');
    // Asked again at once: round 2's chunk is running, or (its chunk list read from storage first)
    // still being started.
    expect(refusals[2]).toMatch(
      /no finished chunk has retryable rows yet \(2 chunks still running\)|round 2 is still starting 1 chunk\(s\); ask again in a few seconds/,
    );
    expect(result.round).toBe(2);
    expect(result.fromChunks).toBe(1);
    expect(result.requests).toBeGreaterThan(0);
    expect(result.requests).toBeLessThan(100);
    // Round 2 runs beside round 1's slow chunk.
    expect(progressAfter.round).toBe(2);
    expect(progressAfter.active.some((c) => c.round === 1 && c.index === 0)).toBe(true);
    expect(summary.status).toBe('completed');
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(1_600);
    expect(ids.size).toBe(1_600);
    expect(statuses).toEqual({ succeeded: 1_600 });
    // Chunk 1's failed rows (req-1500..1599) succeeded in round 2, while chunk 0 was still running.
    const round2 = rows.filter((r) => r.round === 2).map((r) => Number(r.custom_id.slice(4)));
    expect(round2.length).toBe(result.requests);
    expect(round2.every((i) => i >= 1_500)).toBe(true);
    // Chunk 0's failed rows went to a round after that.
    expect(rows.some((r) => r.round === 3 && Number(r.custom_id.slice(4)) < 1_500)).toBe(true);
  });

  it('extendDeadline keeps a batch running past the old deadline; bad requests are refused and leave no trace', async () => {
    // The update must arrive before the old deadline, after the job's start, plan, upload, create
    // and four refused updates: 20 s leaves room on a loaded machine (6 s did not, in a CI run at
    // load 18); the batch (1,200 rows at 40 rows/s) still runs past it.
    env.emulator.setConfig({ rowsPerSecond: 40, rowErrors: { server_error: 0 } });
    const inputUri = await writeChatInput(env, 1_200, { file: 'extend.jsonl' });
    const jobId = `extend-${Date.now()}`;
    const worker = await env.createWorker();
    const oldDeadline = Date.now() + 20_000;
    const { summary, refusals, extended, types, chunkSummaries } = await worker.runUntil(async () => {
      // A long refresh: the wait that runs when the update arrives holds the old deadline and ends
      // on it; the chunk must then wait again rather than cancel.
      const wait = { ...FAST_WAIT, progressRefreshMs: 60_000 };
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, endpoint: '/v1/chat/completions', inputUri, wait, deadline: new Date(oldDeadline).toISOString() },
        { taskQueue: env.taskQueue },
      );
      await until('the batch to run', async () =>
        (await getJobProgress(handle)).active.some((c) => c.batchId !== undefined),
      );
      const refusals = [
        await refusal(extendJobDeadline(handle, 'tomorrow morning')),
        await refusal(extendJobDeadline(handle, oldDeadline - 60_000)),
        // Read in each worker's own time zone, a zone-less date could replay differently.
        await refusal(extendJobDeadline(handle, new Date(oldDeadline + 3_600_000).toISOString().replace('Z', ''))),
        await refusal(extendJobDeadline(handle, oldDeadline * 1000)),
      ];
      const extended = await extendJobDeadline(handle, oldDeadline + 120_000);
      const summary = await handle.result();
      const types = await eventTypes(handle);
      const chunkHistory = await env.conn.client.workflow.getHandle(chunkWorkflowId(jobId, 1, 0)).fetchHistory();
      const chunkSummaries = (chunkHistory.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => ({
          activity: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
          summary: e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : '',
        }));
      return { summary, refusals, extended, types, chunkSummaries };
    });
    expect(refusals[0]).toContain(
      'deadline "tomorrow morning" is not an ISO 8601 date with a time zone or epoch milliseconds',
    );
    expect(refusals[1]).toMatch(/must be later than the current one/);
    expect(refusals[2]).toContain('is not an ISO 8601 date with a time zone or epoch milliseconds');
    expect(refusals[3]).toContain('is more than a year ahead; give epoch milliseconds');
    expect(extended.previousDeadline).toBe(new Date(oldDeadline).toISOString());
    expect(extended.deadline).toBe(new Date(oldDeadline + 120_000).toISOString());
    expect(extended.chunksNotified).toBe(1);
    // 1,200 rows at 40 rows/s end well after the old deadline: the job still completed them all.
    expect(summary.status).toBe('completed');
    expect(Object.entries(summary.counts).filter(([, n]) => n !== 0)).toEqual([['succeeded', 1_200]]);
    expect(env.emulator.stats().batchesByStatus['cancelled'] ?? 0).toBe(0);
    // Only the accepted update is in the job's history.
    expect(types.filter((t) => t === 'workflowExecutionUpdateAcceptedEventAttributes')).toHaveLength(1);
    // Every activity of the chunk carries a summary for the UI's timeline.
    expect(chunkSummaries.map((s) => s.activity)).toEqual(
      expect.arrayContaining(['uploadChunk', 'createBatch', 'waitForBatch', 'collectChunk']),
    );
    for (const s of chunkSummaries) expect(s.summary, s.activity).not.toBe('');
    expect(chunkSummaries.find((s) => s.activity === 'createBatch')?.summary).toMatch(
      /^create the batch of file-\S+ exactly once \(key /,
    );
  });

  it('retryFailedRows is refused while chunks of the round still wait for a slot, and no row is lost', async () => {
    // Three chunks of 100 rows, one at a time, 2 s each.
    env.emulator.setConfig({ rowsPerSecond: 50, rowErrors: { server_error: 0.2 } });
    const inputUri = await writeChatInput(env, 300, { file: 'retry-waiting.jsonl' });
    const worker = await env.createWorker();
    const { message, summary } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId: `retry-waiting-${Date.now()}`,
          endpoint: '/v1/chat/completions',
          inputUri,
          wait: FAST_WAIT,
          limits: { maxRequests: 100 },
          maxActiveBatches: 1,
          maxRounds: 3,
        },
        { taskQueue: env.taskQueue },
      );
      await until('chunk 0 to finish', async () => (await getJobProgress(handle)).chunks.done >= 1);
      const message = await refusal(retryFailedRowsNow(handle));
      env.emulator.setConfig({ rowErrors: { server_error: 0 } });
      return { message, summary: await handle.result() };
    });
    expect(message).toContain('round 1 still has 1 chunk(s) waiting for a free slot (maxActiveBatches 1)');
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).ids.size).toBe(300);
    expect(tally(rows).statuses).toEqual({ succeeded: 300 });
  });

  it('extendDeadline on a job without a deadline is refused with the reason', async () => {
    env.emulator.setConfig({ rowsPerSecond: 20 });
    const inputUri = await writeChatInput(env, 100, { file: 'no-deadline.jsonl' });
    const worker = await env.createWorker();
    const message = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId: `no-deadline-${Date.now()}`, endpoint: '/v1/chat/completions', inputUri, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      const m = await refusal(extendJobDeadline(handle, Date.now() + 3_600_000));
      await handle.result();
      return m;
    });
    expect(message).toContain('the job has no deadline to extend');
  });
});
