// A cancel that lands while the job plans a retry round for a retryFailedRows update, or while a
// chunk waits out token_limit_exceeded: the update is answered and every row says what happened.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, retryFailedRowsNow, startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

interface Row {
  custom_id: string;
  status: string;
  error?: { code?: string };
}

/** Settles `p` as its value or error, or as `timedOut` once `ms` pass (a hang says so). */
async function settleWithin(p: Promise<unknown>, ms: number, timedOut: string): Promise<unknown> {
  const settled = p.then(
    (v) => v,
    (err: unknown) => err,
  );
  return await Promise.race([settled, new Promise((r) => setTimeout(() => r(timedOut), ms))]);
}

describe('cancel timings', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-timings');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a cancel while a retryFailedRows round is being planned answers the update (refused: cancelled) and the job ends cancelled with every row', async () => {
    env.emulator.setConfig({ rowErrors: { server_error: 0.3 }, enqueuedTokenLimit: { 'gpt-4o-mini': null } });
    const jobId = `cancel-retry-now-${Date.now()}`;
    const inputUri = await writeChatInput(env, 150, { file: 'cancel-retry-now.jsonl' });
    // Chunk 0 is held at its collect, so that chunk 1 finishes first with retryable rows; the
    // retry round the update asks for is held at its planning while the job is cancelled.
    const collect0 = new ActivityGate('collectChunk', (i) => i['chunkIndex'] === 0 && i['round'] === 1);
    const plan = new ActivityGate('planRetryRound');
    const worker = await gatedWorker(env, collect0, plan);
    const { update, outcome } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 100 },
          maxRounds: 3,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      await collect0.entered;
      await until('chunk 1 to finish', async () => (await getJobProgress(handle)).chunks.done >= 1);
      const asked = retryFailedRowsNow(handle);
      await plan.entered;
      await handle.cancel();
      collect0.release();
      const update = await settleWithin(asked, 60_000, 'update unanswered after 60 s');
      plan.release();
      const outcome = await settleWithin(handle.result(), 60_000, 'job still running after 60 s');
      return { update, outcome };
    });
    env.emulator.setConfig({ rowErrors: { server_error: 0 } });
    expect(update).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (update as WorkflowUpdateFailedError).cause;
    expect(cause?.message).toMatch(/retryFailedRows rejected: the job was cancelled/);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const rows = await readJsonlFile<Row>(env.storageRoot, openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'));
    expect(tally(rows).ids.size).toBe(150);
    expect(rows).toHaveLength(150);
  }, 150_000);

  it('a cancel during the token_limit_exceeded backoff records the rows cancelled / not_submitted, not failed', async () => {
    // No batch fits the queue: every submission fails with token_limit_exceeded.
    env.emulator.setConfig({ rowErrors: { server_error: 0 }, enqueuedTokenLimit: { 'gpt-4o-mini': 1 } });
    const jobId = `cancel-token-limit-${Date.now()}`;
    const inputUri = await writeChatInput(env, 50, { file: 'cancel-token-limit.jsonl' });
    const worker = await env.createWorker();
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          // A backoff long enough that the cancel lands inside it.
          wait: { ...FAST_WAIT, tokenLimitBackoffMs: 120_000 },
        },
        { taskQueue: env.taskQueue },
      );
      await until('the chunk to back off', async () =>
        (await getJobProgress(handle)).active.some((c) => c.phase === 'token_limit_backoff'),
      );
      await handle.cancel();
      return await settleWithin(handle.result(), 60_000, 'job still running after 60 s');
    });
    env.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': null } });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const rows = await readJsonlFile<Row>(env.storageRoot, openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'));
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(50);
    expect(statuses).toEqual({ cancelled: 50 });
    expect(new Set(rows.map((r) => r.error?.code))).toEqual(new Set(['not_submitted']));
  }, 150_000);
});
