import type { ChunkEnd, ChunkResult } from '../../common/job-types.ts';
import type { ChunkRun } from './chunk-run.ts';
import { waitFor } from './wait-for.ts';

/** Cancels batch `id` at OpenAI, waits until it is terminal and collects what it finished. */
export async function cancelAndCollect(run: ChunkRun, id: string, cancelledByDeadline: boolean): Promise<ChunkResult> {
  await run.report({ phase: 'cancelling' }, false);
  await run.activities.quick.cancelBatch.executeWithOptions({ summary: `cancel batch ${id}` }, [{ batchId: id }]);
  const snapshot = await waitFor(run, id, true);
  const end: ChunkEnd =
    snapshot.status === 'completed' || snapshot.status === 'expired' || snapshot.status === 'failed'
      ? snapshot.status
      : 'cancelled';
  return await run.collect(end, snapshot, { cancelledByDeadline });
}
