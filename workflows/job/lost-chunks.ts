// Chunks whose workflow ended without reporting (an operator terminated it): found now and then by
// the main loop and the cancel branch, or by the chunk's own result. Their batch is cancelled and,
// once it has ended, what it finished is collected (it is billed); every row gets its line.
import { isCancellation, log, patched } from '@temporalio/workflow';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import type { ChunkEnd, ChunkProgress } from '../../common/job-types.ts';
import { NO_RECORDS } from '../empty-chunk-result.ts';
import {
  CANCELLED_LOST_CHUNK_NOT_SUBMITTED,
  LOST_CHUNK_COLLECTS_BATCH,
  LOST_CHUNK_DELETES_INPUT,
  LOST_CHUNK_FINDS_BATCH,
  LOST_CHUNK_RECOVERED_ONCE,
  LOST_CHUNK_WAIT_BOUNDED,
  RECOVERY_NEVER_FAILS_JOB,
} from '../patches.ts';
import type { JobRun } from './job-run.ts';
import { isTerminalStatus } from '../../common/batch-status.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../common/failures.ts';
import { chunkInputFilename } from '../../common/job-options.ts';
import { jobLabels } from '../metrics.ts';

/** Records every active chunk whose workflow has ended without reporting. */
export async function recoverEndedChunks(run: JobRun): Promise<void> {
  // A chunk being recovered has ended too: it is not looked at again.
  const ids = patched(LOST_CHUNK_RECOVERED_ONCE)
    ? run.activeIds.filter((id) => !run.recovering.has(id))
    : run.activeIds;
  if (ids.length === 0) return;
  const ended = await run.job.act.findEndedChunks.executeWithOptions(
    { summary: `check that ${ids.length} chunk workflow(s) still run` },
    [{ workflowIds: ids }],
  );
  for (const { workflowId, status } of ended) {
    await recordLostChunk(
      run,
      workflowId,
      `chunk workflow ${workflowId} ended (${status}) without reporting its result`,
    );
  }
}

/**
 * A chunk workflow ended without its report: cancel its batch, so that nothing bills unwatched,
 * wait until the batch has ended and collect what it finished, into records of its own (the chunk
 * may have written its records before it ended). Without a batch, its rows are recorded as failed
 * with the reason.
 */
export async function recordLostChunk(run: JobRun, workflowId: string, reason: string): Promise<void> {
  const progress = run.state.active[workflowId];
  if (!progress) return;
  if (!patched(LOST_CHUNK_RECOVERED_ONCE)) return await recover(run, workflowId, progress, reason);
  // The recovery under way records it (or, cancelled, leaves it to the cancel branch's check).
  if (run.recovering.has(workflowId)) return;
  run.recovering.add(workflowId);
  try {
    await recover(run, workflowId, progress, reason);
  } finally {
    run.recovering.delete(workflowId);
  }
}

async function recover(run: JobRun, workflowId: string, progress: ChunkProgress, reason: string): Promise<void> {
  const { state: s, job } = run;
  log.warn('a chunk workflow ended without reporting', { workflowId, reason });
  const collectsBatch = patched(LOST_CHUNK_COLLECTS_BATCH);
  const planned = progress.round === s.round ? s.plan.chunks.find((c) => c.index === progress.index) : undefined;
  const chunkUri = s.chunkUris?.[workflowId] ?? planned?.uri;
  // A batch created after the chunk's last progress report is unknown here: look it up at OpenAI.
  const ask = progress.batchId === undefined && patched(LOST_CHUNK_FINDS_BATCH);
  const lookup = ask ? await findBatch(run, workflowId, progress) : undefined;
  const batchId = progress.batchId ?? lookup?.batchId;
  // None at OpenAI (asked, and answered): no batch will read the input the chunk may have uploaded.
  if (lookup?.none && patched(LOST_CHUNK_DELETES_INPUT)) await deleteUnusedInput(run, workflowId);
  let batch = batchId ? await cancelBatch(run, workflowId, batchId) : undefined;
  if (collectsBatch && batch && !batch.terminal)
    batch = await survive(
      workflowId,
      'waiting for its batch to end',
      () => untilBatchEnds(run, (batch as BatchSnapshot).batchId),
      batch,
    );
  const ended = collectsBatch && batch?.terminal ? batch : undefined;
  // No batch at OpenAI (none reported, none found by its key) in a cancelled job: never submitted.
  const unsubmitted = run.cancelling && !batchId && patched(CANCELLED_LOST_CHUNK_NOT_SUBMITTED);
  let end: ChunkEnd = ended && isTerminalStatus(ended.status) ? ended.status : unsubmitted ? 'cancelled' : 'failed';
  const collect = (fromBatch: boolean) =>
    job.act.collectChunk.executeWithOptions(
      { summary: `record the rows of ended chunk ${workflowId} (${fromBatch ? end : 'failed'})` },
      [
        {
          jobId: job.jobId,
          round: progress.round,
          chunkIndex: progress.index,
          chunkUri: chunkUri ?? '',
          endpoint: job.input.endpoint,
          metricTags: jobLabels(job.input.name, job.input.endpoint, s.model),
          batchId: batchId ?? '',
          end: fromBatch ? end : 'failed',
          outputFileId: fromBatch ? ended?.outputFileId : undefined,
          errorFileId: fromBatch ? ended?.errorFileId : undefined,
          batchErrors: (fromBatch ? ended?.errors : undefined) ?? [{ code: 'chunk_ended', message: reason }],
          jsonSchema: fromBatch && ended ? job.input.jsonSchema : undefined,
          retryInvalidOutput: fromBatch && ended ? job.input.retryInvalidOutput : undefined,
          recovered: collectsBatch || undefined,
        },
      ],
    );
  let outcome: Awaited<ReturnType<typeof collect>> | typeof NO_RECORDS = NO_RECORDS;
  if (chunkUri) {
    const fromBatch = await survive(workflowId, 'collecting its batch', () => collect(true), undefined);
    // The batch's files could not be read: every row still gets its line, as failed with the reason.
    if (fromBatch === undefined) end = 'failed';
    outcome =
      fromBatch ?? (await survive(workflowId, 'recording its rows as failed', () => collect(false), NO_RECORDS));
  }
  // Its own report may have arrived meanwhile: that one counts.
  if (!s.active[workflowId]) return;
  run.record({
    ...lostChunkResult(progress, batchId, end, reason),
    estimatedCostUsd: s.chunkCosts?.[workflowId] ?? planned?.estimatedCostUsd ?? 0,
    ...outcome,
  });
}

/**
 * Runs one step of a recovery; a failure that retrying could not fix (a refused key, a file gone
 * at OpenAI) is logged and `fallback` used, so that recovering one chunk never fails the whole job
 * (which would then end with no results.jsonl and its other batches running).
 */
async function survive<T>(workflowId: string, step: string, work: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isCancellation(err) || !patched(RECOVERY_NEVER_FAILS_JOB)) throw err;
    log.warn('recovering an ended chunk failed; recording what is known', { workflowId, step, error: String(err) });
    return fallback;
  }
}

function lostChunkResult(progress: ChunkProgress, batchId: string | undefined, end: ChunkEnd, reason: string) {
  return {
    round: progress.round,
    index: progress.index,
    end,
    batchIds: batchId ? [batchId] : [],
    reason,
  };
}

/**
 * The chunk's newest batch at OpenAI, by its idempotency keys' prefix (the activity first waits
 * until a create the chunk had in flight must have landed). `none` only when OpenAI answered that
 * there is none; a lookup that failed for good knows nothing.
 */
async function findBatch(
  run: JobRun,
  workflowId: string,
  progress: ChunkProgress,
): Promise<{ batchId?: string; none: boolean }> {
  const { state: s, job } = run;
  const keyPrefix = `${job.jobId}:${s.runId ?? '-'}:r${progress.round}:c${progress.index}:`;
  const found = await survive(
    workflowId,
    'looking its batch up at OpenAI',
    () =>
      job.act.findChunkBatch.executeWithOptions(
        { summary: `look up the batch of ended chunk ${workflowId} at OpenAI` },
        [{ keyPrefix, notBeforeMs: s.startedAtMs }],
      ),
    undefined,
  );
  return found ? { batchId: found.batchId, none: false } : { none: found === null };
}

/**
 * Deletes the input file the ended chunk uploaded (found by its name: its id may never have been
 * reported), since no batch uses it; a failure is logged, and the file expires with its TTL.
 */
async function deleteUnusedInput(run: JobRun, workflowId: string): Promise<void> {
  const filename = chunkInputFilename(workflowId);
  await run.job.act.deleteFilesNamed
    .executeWithOptions(
      {
        summary: `delete input file ${filename} of ended chunk: no batch uses it`,
        // Best effort, bounded: a listing or delete that keeps failing (a 429, a 5xx) must not hold
        // the recovery, which waits for it; the file expires with its TTL anyway.
        scheduleToCloseTimeout: '15 minutes',
        retry: {
          initialInterval: '1 second',
          maximumInterval: '1 minute',
          maximumAttempts: 5,
          nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
        },
      },
      [{ filename, notBeforeMs: run.state.startedAtMs }],
    )
    .catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      log.warn('could not delete the input file of an ended chunk', { workflowId, filename, error: String(err) });
    });
}

/** Cancels the batch (a terminal one is left as it is); undefined when OpenAI refused. */
async function cancelBatch(run: JobRun, workflowId: string, batchId: string): Promise<BatchSnapshot | undefined> {
  return await run.job.act.cancelBatch
    .executeWithOptions({ summary: `cancel batch ${batchId} of ended chunk ${workflowId}` }, [{ batchId }])
    .catch((err: unknown) => {
      log.warn('could not cancel the batch of an ended chunk', { workflowId, batchId, error: String(err) });
      return undefined;
    });
}

/**
 * Recovery waits at least `wait.recoveryWaitMs` (an hour by default) for a cancelled batch to end
 * before it records the rows with what is known, in at most this many waits, so that the job's
 * history stays bounded whatever `progressRefreshMs` is.
 */
export const MAX_RECOVERY_BATCH_WAITS = 200;

/** Polls the cancelled batch until it has ended (OpenAI takes up to 10 minutes to cancel), or the bound. */
async function untilBatchEnds(run: JobRun, batchId: string): Promise<BatchSnapshot> {
  const { wait } = run.job;
  // Runs started before the option resolve it to its default, the hour it replaced.
  const boundMs = wait.recoveryWaitMs;
  const maxWaits = Math.min(MAX_RECOVERY_BATCH_WAITS, Math.max(2, Math.ceil(boundMs / wait.progressRefreshMs)));
  for (let waits = 1; ; waits++) {
    const snapshot = await run.job.act.waitForBatch.executeWithOptions(
      { summary: `wait for batch ${batchId} of an ended chunk to end` },
      [
        {
          batchId,
          schedule: {
            minDelayMs: wait.minPollMs,
            maxDelayMs: wait.maxPollMs,
            fractionOfElapsed: 0.05,
            validatingDelayMs: wait.validatingPollMs,
          },
          metricTags: jobLabels(run.job.input.name, run.job.input.endpoint, run.state.model),
          // The waits together span the bound, whatever progressRefreshMs is.
          refreshMs: Math.ceil(boundMs / maxWaits),
        },
      ],
    );
    if (snapshot.terminal) return snapshot;
    if (waits >= maxWaits && patched(LOST_CHUNK_WAIT_BOUNDED)) {
      log.warn('the cancelled batch of an ended chunk has not ended; recording its rows with what is known', {
        batchId,
        status: snapshot.status,
        waits,
      });
      return snapshot;
    }
  }
}
