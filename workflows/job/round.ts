// One round: keep the window full until every chunk of the round has reported, waking on each
// report or retry request, checking now and then for chunks that ended without reporting, and
// continuing as new when the history grows long.
import { allHandlersFinished, condition, continueAsNew, log, patched, workflowInfo } from '@temporalio/workflow';
import { RECOVER_ENDED_CHUNKS } from '../patches.ts';
import type { JobRun } from './job-run.ts';
import type { openAIBatchJob } from './job-workflow.ts';
import { recoverEndedChunks } from './lost-chunks.ts';
import { fillWindow } from './sliding-window.ts';

/** Runs the current round (and any round a retryFailedRows update starts meanwhile) to its end. */
export async function runRound(run: JobRun): Promise<void> {
  const { state, job } = run;
  while (state.nextChunk < state.plan.chunks.length || run.activeIds.length > 0) {
    await fillWindow(run);
    run.publish();
    if (run.activeIds.length === 0) continue;
    await untilReportOrRequest(run);
    await job.retryNow.answer(run);
    await continueAsNewIfDue(run);
  }
}

/** Waits for a chunk's report or a retry request. */
async function untilReportOrRequest(run: JobRun): Promise<void> {
  const seen = run.doneEvents;
  const woken = () => run.doneEvents !== seen || run.job.retryNow.requested;
  if (patched(RECOVER_ENDED_CHUNKS)) {
    // Children report by signal; check now and then that none ended without reporting.
    if (!(await condition(woken, run.job.wait.progressRefreshMs * 2))) await recoverEndedChunks(run);
  } else {
    await condition(woken);
  }
}

/** Continues as new when Temporal suggests it or the history reached `continueAsNewAfterEvents`. */
async function continueAsNewIfDue(run: JobRun): Promise<void> {
  const { job } = run;
  const info = workflowInfo();
  const limit = job.input.continueAsNewAfterEvents;
  if (!info.continueAsNewSuggested && (limit === undefined || info.historyLength < limit)) return;
  log.info('continuing as new', { historyLength: info.historyLength, active: run.activeIds.length });
  // Drain the handlers; a retry request accepted just before needs this loop to answer it.
  run.closing = true;
  while (!allHandlersFinished()) {
    await condition(() => allHandlersFinished() || job.retryNow.requested);
    await job.retryNow.answer(run);
  }
  // The deadline may have moved (extendDeadline): the next run starts from the current one.
  await continueAsNew<typeof openAIBatchJob>(job.deadline.carriedInput(), run.state);
}
