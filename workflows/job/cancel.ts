// The cancelled job: cancel every running chunk, wait for their reports (recovering any chunk that
// ends without one), record the chunks never started as not submitted, and finalize what was
// done. Runs in a non-cancellable scope.
import { condition, getExternalWorkflowHandle, log, patched } from '@temporalio/workflow';
import { CANCEL_RECOVERS_ENDED_CHUNKS, CANCEL_SKIPS_IN_BULK, CANCEL_TERMINATES_STUCK_CHUNKS } from '../patches.ts';
import { skipChunk, skipChunksInBulk } from './chunks.ts';
import { finish } from './finish.ts';
import type { JobRun } from './job-run.ts';
import { chunkCount } from './job-state.ts';
import { recoverEndedChunks } from './lost-chunks.ts';
import { storeResults, takeNextChunk } from './stored-results.ts';

/** How often, at most, a cancelling job checks that its chunks still run. */
const CANCEL_CHECK_MS = 5 * 60_000;

/**
 * Checks a cancelled chunk gets to finish its own cancel path (OpenAI takes up to 10 minutes to
 * cancel a batch, then the chunk collects it) before the job terminates it and recovers its rows:
 * 20 minutes with the default waits.
 */
export const CANCEL_GRACE_CHECKS = 4;

export async function finishCancelled(run: JobRun): Promise<void> {
  const s = run.state;
  run.cancelling = true;
  run.publish('running');
  await cancelChunks(run.activeIds);
  if (patched(CANCEL_RECOVERS_ENDED_CHUNKS)) await untilChunksEnd(run);
  else await condition(() => run.activeIds.length === 0);
  // Decided once the chunks have ended: the rest is recorded a part at a time, or one by one.
  const bulk = s.nextChunk < chunkCount(s) && patched(CANCEL_SKIPS_IN_BULK);
  while (s.nextChunk < chunkCount(s)) {
    if (bulk) {
      await skipChunksInBulk(run);
      if (s.stored) await storeResults(run, false);
      continue;
    }
    await skipChunk(run, await takeNextChunk(run), 'cancelled');
    if (s.stored) await storeResults(run, false);
  }
  await finish(run, 'cancelled');
}

/**
 * Waits until every cancelled chunk has reported; one that ended without reporting (terminated,
 * its report lost, its own recovery cancelled with the job) is recovered, as in the round loop.
 */
async function untilChunksEnd(run: JobRun): Promise<void> {
  const checkMs = Math.min(run.job.wait.progressRefreshMs * 2, CANCEL_CHECK_MS);
  // A chunk that never ends its cancel path (a cancel request lost, a cancel call that hangs) would
  // hold the job forever: its cancel is sent again on each check, and after the grace the chunk is
  // terminated and recovered (its batch cancelled and collected) like one an operator terminated.
  const bounded = patched(CANCEL_TERMINATES_STUCK_CHUNKS);
  // The grace counts checks, not wall time: after an outage of every worker, the chunks get their
  // checks once workers are back, instead of being terminated at the first one.
  let quietChecks = 0;
  while (run.activeIds.length > 0) {
    const seen = run.doneEvents;
    if (await condition(() => run.doneEvents !== seen || run.activeIds.length === 0, checkMs)) continue;
    await recoverEndedChunks(run);
    if (!bounded || run.activeIds.length === 0) continue;
    quietChecks += 1;
    if (quietChecks < CANCEL_GRACE_CHECKS) await cancelChunks(run.activeIds);
    else await terminateStuckChunks(run);
  }
}

/** Requests the cancel of each chunk workflow (again, for one that has not ended yet). */
async function cancelChunks(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await getExternalWorkflowHandle(id)
      .cancel()
      .catch((err: unknown) => log.warn('could not cancel a chunk workflow', { workflowId: id, error: String(err) }));
  }
}

/**
 * Terminates the chunks still running after the grace, then recovers them. A chunk that reports
 * meanwhile counts with its own report (recovery skips a chunk no longer active); one that ended
 * just before is left as it is by the activity and found ended by the recovery.
 */
async function terminateStuckChunks(run: JobRun): Promise<void> {
  const ids = run.activeIds;
  log.warn('cancelled chunks still running after the grace period: terminating and recovering them', {
    workflowIds: ids,
  });
  await run.job.act.terminateChunks.executeWithOptions(
    { summary: `terminate ${ids.length} cancelled chunk workflow(s) that did not end` },
    [
      {
        workflowIds: ids,
        reason: 'the job was cancelled and the chunk did not end its cancel within the grace period',
      },
    ],
  );
  await recoverEndedChunks(run);
}
