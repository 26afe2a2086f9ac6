// The cancelled job: cancel every running chunk, wait for their reports, record the chunks never
// started as not submitted, and finalize what was done. Runs in a non-cancellable scope.
import { condition, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import type { ChunkRef } from '../../common/job-types.ts';
import { skipChunk } from './chunks.ts';
import { finish } from './finish.ts';
import type { JobRun } from './job-run.ts';

export async function finishCancelled(run: JobRun): Promise<void> {
  const s = run.state;
  run.publish('running');
  for (const id of run.activeIds) {
    await getExternalWorkflowHandle(id)
      .cancel()
      .catch((err: unknown) => log.warn('could not cancel a chunk workflow', { workflowId: id, error: String(err) }));
  }
  await condition(() => run.activeIds.length === 0);
  while (s.nextChunk < s.plan.chunks.length) {
    const chunk = s.plan.chunks[s.nextChunk] as ChunkRef;
    s.nextChunk += 1;
    await skipChunk(run, chunk, 'cancelled');
  }
  await finish(run, 'cancelled');
}
