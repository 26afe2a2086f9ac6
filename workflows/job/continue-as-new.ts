// Continue-as-new of the job: when Temporal suggests it or the history reached
// `continueAsNewAfterEvents`. Called by the round's loop and by the sliding window's skip loop.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  workflowInfo,
} from '@temporalio/workflow';
import type { JobRun } from './job-run.ts';
import type { openAIBatchJob } from './job-workflow.ts';
import { storeResults, throwIfCancelled } from './stored-results.ts';

/** Continues as new when Temporal suggests it or the history reached `continueAsNewAfterEvents`. */
export async function continueAsNewIfDue(run: JobRun): Promise<void> {
  const { job } = run;
  const info = workflowInfo();
  const limit = job.input.continueAsNewAfterEvents;
  if (!info.continueAsNewSuggested && (limit === undefined || info.historyLength < limit)) return;
  // A recovery under way (its waits are bounded) would be dropped, its chunk found again only by the
  // next run's quiet check: continue once it has recorded (its record wakes the loop). Only under
  // lost-chunk-recovered-once is the set ever filled.
  if (run.recovering.size > 0) return;
  log.info('continuing as new', { historyLength: info.historyLength, active: run.activeIds.length });
  // From here on the run refuses updates (retryFailedRows, extendDeadline): one accepted now could
  // be cut off by the continue-as-new.
  run.closing = true;
  // Results go to storage first; those that arrive meanwhile are carried (a few, in the buffer).
  if (run.state.stored) await notClosingOnCancel(run, () => storeResults(run, true));
  // Drain the handlers; a retry request accepted just before needs this loop to answer it.
  while (!allHandlersFinished()) {
    await condition(() => allHandlersFinished() || job.retryNow.requested);
    await job.retryNow.answer(run);
  }
  // A cancel that came while the run was closing ends the job here, not in the next run.
  if (run.state.stored && CancellationScope.current().consideredCancelled) {
    run.closing = false;
    throwIfCancelled();
  }
  // The deadline may have moved (extendDeadline): the next run starts from the current one. A
  // page of the chunk list is read again by the next run, not carried.
  const state = run.state.stored ? { ...run.state, planPage: undefined } : run.state;
  await continueAsNew<typeof openAIBatchJob>(job.deadline.carriedInput(), state);
}

/** Runs `step`; when a cancel ends it, the run is no longer closing (the cancel branch takes updates). */
async function notClosingOnCancel(run: JobRun, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (isCancellation(err)) run.closing = false;
    throw err;
  }
}
