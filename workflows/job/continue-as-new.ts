// Continue-as-new of the job: when Temporal suggests it or the history reached
// `continueAsNewAfterEvents`. Called by the round's loop and by the sliding window's skip loop.
import { allHandlersFinished, condition, continueAsNew, log, workflowInfo } from '@temporalio/workflow';
import type { JobRun } from './job-run.ts';
import type { openAIBatchJob } from './job-workflow.ts';
import { storeResults } from './stored-results.ts';

/** Continues as new when Temporal suggests it or the history reached `continueAsNewAfterEvents`. */
export async function continueAsNewIfDue(run: JobRun): Promise<void> {
  const { job } = run;
  const info = workflowInfo();
  const limit = job.input.continueAsNewAfterEvents;
  if (!info.continueAsNewSuggested && (limit === undefined || info.historyLength < limit)) return;
  log.info('continuing as new', { historyLength: info.historyLength, active: run.activeIds.length });
  // From here on the run refuses updates (retryFailedRows, extendDeadline): one accepted now could
  // be cut off by the continue-as-new.
  run.closing = true;
  // Results go to storage first; those that arrive meanwhile are carried (a few, in the buffer).
  if (run.state.stored) await storeResults(run, true);
  // Drain the handlers; a retry request accepted just before needs this loop to answer it.
  while (!allHandlersFinished()) {
    await condition(() => allHandlersFinished() || job.retryNow.requested);
    await job.retryNow.answer(run);
  }
  // The deadline may have moved (extendDeadline): the next run starts from the current one. A
  // page of the chunk list is read again by the next run, not carried.
  const state = run.state.stored ? { ...run.state, planPage: undefined } : run.state;
  await continueAsNew<typeof openAIBatchJob>(job.deadline.carriedInput(), state);
}
