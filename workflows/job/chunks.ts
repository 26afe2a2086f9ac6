// One chunk of a round: launched as a child workflow, or recorded as not submitted.
import {
  ChildWorkflowCancellationType,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { chunkWorkflowId, DEFAULT_OPENAI_FILE_TTL_SECONDS } from '../../common/job-options.ts';
import type { CollectChunkResult } from '../../activities/index.ts';
import type { ChunkRef, ChunkResult } from '../../common/job-types.ts';
import { chunkDeadlineSignal } from '../../common/messages.ts';
import { openAIBatchChunk } from '../chunk/index.ts';
import { emptyChunkResult, NO_RECORDS } from '../empty-chunk-result.ts';
import { RECOVER_ENDED_CHUNKS, SKIP_FAILURE_IS_UNRECORDED } from '../patches.ts';
import type { JobRun } from './job-run.ts';
import { chunkCount } from './job-state.ts';
import { recordLostChunk } from './lost-chunks.ts';
import { RESULTS_PER_PART, takeNextChunk } from './stored-results.ts';
import type { SkipReason } from './sliding-window.ts';

/** Records every row of a chunk that was not submitted, with the reason. */
export async function skipChunk(run: JobRun, chunk: ChunkRef, reason: SkipReason): Promise<void> {
  const { state, job } = run;
  // Rows of a cancelled job say so: `cancelled` with no batch (code not_submitted).
  const collected = job.act.collectChunk.executeWithOptions(
    { summary: `record round ${state.round}, chunk ${chunk.index} as not submitted (${reason})` },
    [
      {
        jobId: job.jobId,
        round: state.round,
        chunkIndex: chunk.index,
        chunkUri: chunk.uri,
        endpoint: job.input.endpoint,
        batchId: '',
        end: reason === 'cancelled' ? 'cancelled' : 'not_submitted',
        cancelledByDeadline: reason === 'deadline',
      },
    ],
  );
  const outcome: CollectChunkResult = await collected.catch((err: unknown) => unrecordedSkip(err, reason));
  run.record(notSubmittedResult(state.round, chunk, reason, outcome), false);
}

/**
 * The outcome of a skip whose rows could not be recorded (the chunk file unreadable after the
 * step's retries): no records, so that the job goes on, writes its report and fails naming the
 * chunk (patch skip-failure-is-unrecorded), instead of failing at once with no report. Older
 * histories failed the job here, as before.
 */
function unrecordedSkip(err: unknown, reason: SkipReason): CollectChunkResult {
  // A cancelled job cancels a budget skip's collect: that is the cancel, not a failure to record.
  if (isCancellation(err) || !patched(SKIP_FAILURE_IS_UNRECORDED)) throw err;
  const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  log.warn('recording the rows of a chunk not submitted failed; the job will fail for them', {
    reason,
    error: message,
  });
  return { ...NO_RECORDS, unrecorded: `its rows could not be recorded as not submitted (${reason}): ${message}` };
}

/**
 * Records the round's next chunks (up to {@link RESULTS_PER_PART}, never started) as cancelled in
 * one activity: the cancel branch's way through the rest of a large job.
 */
export async function skipChunksInBulk(run: JobRun): Promise<void> {
  const { state, job } = run;
  const chunks: ChunkRef[] = [];
  while (chunks.length < RESULTS_PER_PART && state.nextChunk < chunkCount(state)) chunks.push(await takeNextChunk(run));
  const first = chunks[0];
  if (!first) return;
  const recorded = job.act.collectNotSubmitted.executeWithOptions(
    {
      summary: `record round ${state.round}, chunks ${first.index}-${first.index + chunks.length - 1} as not submitted (cancelled)`,
    },
    [
      {
        jobId: job.jobId,
        round: state.round,
        endpoint: job.input.endpoint,
        chunks: chunks.map((c) => ({ index: c.index, uri: c.uri })),
        end: 'cancelled',
      },
    ],
  );
  // A chunk whose file cannot be read comes back without records (the activity goes on with the
  // rest). Any other failure leaves each of these chunks so, as one failed skip would be.
  const outcomes = await recorded.catch((err: unknown) => chunks.map(() => unrecordedSkip(err, 'cancelled')));
  chunks.forEach((chunk, i) => {
    run.record(notSubmittedResult(state.round, chunk, 'cancelled', outcomes[i] as CollectChunkResult), false);
  });
}

/** The result of a chunk never submitted: no batch, the reason, and the records its rows got. */
function notSubmittedResult(
  round: number,
  chunk: ChunkRef,
  reason: SkipReason,
  outcome: CollectChunkResult,
): ChunkResult {
  return {
    round,
    index: chunk.index,
    end: 'not_submitted',
    batchIds: [],
    estimatedCostUsd: chunk.estimatedCostUsd,
    reason,
    ...outcome,
  };
}

/** Starts the chunk's workflow; it reports by signal, and its result covers a lost signal. */
export async function launchChunk(run: JobRun, chunk: ChunkRef): Promise<void> {
  const { state, job } = run;
  const { input, jobId } = job;
  const round = state.round;
  const workflowId = chunkWorkflowId(jobId, round, chunk.index);
  state.active[workflowId] = { round, index: chunk.index, phase: 'uploading', done: 0, total: chunk.requests };
  (state.chunkUris ??= {})[workflowId] = chunk.uri;
  if (state.chunkCosts) state.chunkCosts[workflowId] = chunk.estimatedCostUsd;
  const startedWithDeadline = job.deadline.ms;
  const handle = await startChild(openAIBatchChunk, {
    workflowId,
    args: [
      {
        jobId,
        jobWorkflowId: workflowInfo().workflowId,
        round,
        chunk,
        endpoint: input.endpoint,
        model: state.model,
        jobName: input.name,
        jobStartedAtMs: state.startedAtMs,
        jobRunId: state.runId,
        deadlineMs: startedWithDeadline,
        jsonSchema: input.jsonSchema,
        retryInvalidOutput: input.retryInvalidOutput,
        wait: job.wait,
        continueAsNewAfterEvents: input.continueAsNewAfterEvents,
        fileTtlSeconds: input.openaiFileTtlSeconds ?? DEFAULT_OPENAI_FILE_TTL_SECONDS,
      },
    ],
    // Children outlive this run's continue-as-new and report by signal to the workflow id;
    // the job cancels them itself (by id) when it is cancelled.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    cancellationType: ChildWorkflowCancellationType.ABANDON,
    staticSummary: `round ${round}, chunk ${chunk.index}: ${chunk.requests} requests`,
  });
  // An extendDeadline that ran while the child was starting may not have reached it.
  const deadline = job.deadline.ms;
  if (deadline !== startedWithDeadline && deadline !== undefined) {
    await handle
      .signal(chunkDeadlineSignal, { deadlineMs: deadline })
      .catch((err: unknown) =>
        log.warn('could not tell a new chunk the extended deadline', { workflowId, error: String(err) }),
      );
  }
  void handle.result().then(
    (result) => run.record(result),
    (err: unknown) => {
      // A child that ends without its signal (terminated by an operator) must not hang the job.
      if (isCancellation(err) || !state.active[workflowId]) return;
      const why = err instanceof Error ? err.message : String(err);
      if (patched(RECOVER_ENDED_CHUNKS)) {
        // Cancelled with the job, this recovery is redone by the cancel branch's own check.
        recordLostChunk(
          run,
          workflowId,
          `chunk workflow ${workflowId} ended without reporting its result: ${why}`,
        ).catch((e: unknown) =>
          log.warn('recovery of an ended chunk did not finish', { workflowId, error: String(e) }),
        );
        return;
      }
      run.record(
        emptyChunkResult({ round, index: chunk.index, estimatedCostUsd: chunk.estimatedCostUsd, reason: why }),
      );
    },
  );
}
