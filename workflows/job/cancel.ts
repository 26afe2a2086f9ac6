// The cancelled job: cancel every running chunk, wait for their reports (recovering any chunk that
// ends without one), record the chunks never started as not submitted, and finalize what was
// done. Runs in a non-cancellable scope.
import { condition, getExternalWorkflowHandle, log, patched } from '@temporalio/workflow';
import type { ChunkRef } from '../../common/job-types.ts';
import { CANCEL_RECOVERS_ENDED_CHUNKS } from '../patches.ts';
import { skipChunk } from './chunks.ts';
import { finish } from './finish.ts';
import type { JobRun } from './job-run.ts';
import { recoverEndedChunks } from './lost-chunks.ts';

/** How often, at most, a cancelling job checks that its chunks still run. */
const CANCEL_CHECK_MS = 5 * 60_000;

export async function finishCancelled(run: JobRun): Promise<void> {
  const s = run.state;
  run.publish('running');
  for (const id of run.activeIds) {
    await getExternalWorkflowHandle(id)
      .cancel()
      .catch((err: unknown) => log.warn('could not cancel a chunk workflow', { workflowId: id, error: String(err) }));
  }
  if (patched(CANCEL_RECOVERS_ENDED_CHUNKS)) await untilChunksEnd(run);
  else await condition(() => run.activeIds.length === 0);
  while (s.nextChunk < s.plan.chunks.length) {
    const chunk = s.plan.chunks[s.nextChunk] as ChunkRef;
    s.nextChunk += 1;
    await skipChunk(run, chunk, 'cancelled');
  }
  await finish(run, 'cancelled');
}

/**
 * Waits until every cancelled chunk has reported; one that ended without reporting (terminated,
 * its report lost, its own recovery cancelled with the job) is recovered, as in the round loop.
 */
async function untilChunksEnd(run: JobRun): Promise<void> {
  const checkMs = Math.min(run.job.wait.progressRefreshMs * 2, CANCEL_CHECK_MS);
  while (run.activeIds.length > 0) {
    const seen = run.doneEvents;
    if (!(await condition(() => run.doneEvents !== seen || run.activeIds.length === 0, checkMs)))
      await recoverEndedChunks(run);
  }
}
