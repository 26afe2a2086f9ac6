// The sliding window: start the round's chunks while fewer than `maxActiveBatches` run, each one
// admitted (launched) or skipped with the reason. `admit` is pure; `fillWindow` acts on it.
import { CancellationScope, CancelledFailure, isCancellation, patched } from '@temporalio/workflow';
import type { ChunkRef } from '../../common/job-types.ts';
import { LEAN_JOB_WAKES, NO_LAUNCH_AFTER_CANCEL, SKIP_SURVIVES_CANCEL } from '../patches.ts';
import { launchChunk, skipChunk } from './chunks.ts';
import { continueAsNewIfDue } from './continue-as-new.ts';
import type { JobRun } from './job-run.ts';
import { chunkCount, type JobState } from './job-state.ts';
import { storeResults, takeNextChunk } from './stored-results.ts';

/** Why a chunk is recorded as not submitted instead of launched. */
export type SkipReason = 'budget' | 'deadline' | 'cancelled' | 'stopped';

/** What to do with the next chunk of the round. */
export type Admission =
  { readonly launch: true } | { readonly launch: false; readonly skip: Exclude<SkipReason, 'cancelled'> };

/** What admission weighs besides the job's state. */
export interface AdmitLimits {
  /** The deadline, epoch ms. */
  readonly deadlineMs?: number | undefined;
  /** The job's budget (`maxCostUsd`). */
  readonly maxCostUsd?: number | undefined;
}

/**
 * Launch the chunk, or skip it: `stopped` once a chunk failed in a way every chunk would,
 * `deadline` at or after the deadline, `budget` when its estimated cost would pass the budget.
 */
export function admit(
  state: Pick<JobState, 'fatal' | 'committedCostUsd'>,
  chunk: Pick<ChunkRef, 'estimatedCostUsd'>,
  nowMs: number,
  limits: AdmitLimits,
): Admission {
  if (state.fatal) return { launch: false, skip: 'stopped' };
  if (limits.deadlineMs !== undefined && nowMs >= limits.deadlineMs) return { launch: false, skip: 'deadline' };
  if (limits.maxCostUsd !== undefined && state.committedCostUsd + chunk.estimatedCostUsd > limits.maxCostUsd)
    return { launch: false, skip: 'budget' };
  return { launch: true };
}

/** Launches or skips the round's next chunks until the window is full or the round has none left. */
export async function fillWindow(run: JobRun): Promise<void> {
  const { state, job } = run;
  // state.plan is read afresh on each pass: a retryFailedRows update may start the next round.
  while (run.activeIds.length < job.maxActive && state.nextChunk < chunkCount(state)) {
    const chunk = await takeNextChunk(run);
    const admission = admit(state, chunk, Date.now(), {
      deadlineMs: job.deadline.ms,
      maxCostUsd: job.input.maxCostUsd,
    });
    if (admission.launch) {
      // A cancel that reached the job in this workflow task (with the report that woke it) has
      // cancelled the scope already: startChild would issue no command, and the chunk, never
      // started, would be waited for and then recovered as failed. Leave it to the cancel branch.
      if (CancellationScope.current().consideredCancelled && patched(NO_LAUNCH_AFTER_CANCEL)) {
        state.nextChunk -= 1;
        throw new CancelledFailure('the job was cancelled before this chunk was started');
      }
      state.committedCostUsd += chunk.estimatedCostUsd;
      await launchChunk(run, chunk);
      // While chunks end as fast as they start, this loop runs the round alone: results arrive
      // by signal meanwhile, so they are stored and the run continues as new here too.
      if (state.stored && patched(LEAN_JOB_WAKES)) await storeAndContinueIfDue(run);
      continue;
    }
    if (admission.skip === 'deadline') job.deadline.markCut(state);
    if (admission.skip === 'budget') state.skippedForBudget += 1;
    try {
      await skipChunk(run, chunk, admission.skip);
    } catch (err) {
      // Cancelled while recording the skip: give the chunk back, so that the cancel branch records
      // it (as cancelled) instead of leaving its rows in no round.
      if (isCancellation(err) && patched(SKIP_SURVIVES_CANCEL)) {
        state.nextChunk -= 1;
        if (admission.skip === 'budget') state.skippedForBudget -= 1;
      }
      throw err;
    }
    // A long run of skips (budget, deadline) adds results with no wake of the main loop: store
    // them and continue as new here when due.
    if (state.stored) await storeAndContinueIfDue(run);
  }
}

async function storeAndContinueIfDue(run: JobRun): Promise<void> {
  await storeResults(run, false);
  await continueAsNewIfDue(run);
}
