// One round: keep the window full until every chunk of the round has reported, waking on each
// report or retry request, checking now and then for chunks that ended without reporting, and
// continuing as new when the history grows long.
import { condition, patched } from '@temporalio/workflow';
import { LEAN_JOB_WAKES, RECOVER_ENDED_CHUNKS } from '../patches.ts';
import type { JobRun } from './job-run.ts';
import { continueAsNewIfDue } from './continue-as-new.ts';
import { chunkCount } from './job-state.ts';
import { recoverEndedChunks } from './lost-chunks.ts';
import { fillWindow } from './sliding-window.ts';
import { storeResults } from './stored-results.ts';

/** Runs the current round (and any round a retryFailedRows update starts meanwhile) to its end. */
export async function runRound(run: JobRun): Promise<void> {
  const { state, job } = run;
  while (state.nextChunk < chunkCount(state) || run.activeIds.length > 0) {
    await fillWindow(run);
    run.publish();
    if (run.activeIds.length === 0) continue;
    await untilReportOrRequest(run);
    if (state.stored) await storeResults(run, false);
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
    if (run.state.stored && patched(LEAN_JOB_WAKES)) {
      if (!(await run.quietCheck.until(woken, () => run.doneEvents))) await recoverEndedChunks(run);
      return;
    }
    if (!(await condition(woken, run.job.wait.progressRefreshMs * 2))) await recoverEndedChunks(run);
  } else {
    await condition(woken);
  }
}
