import { ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';
import { emptyChunkResult } from '../empty-chunk-result.ts';
import { cancelAndCollect } from './cancel-and-collect.ts';
import type { ChunkRun } from './chunk-run.ts';
import { adoptBatch } from './submit.ts';

/** Failure types that would fail every chunk alike: the job stops instead of trying the rest. */
const FATAL_TYPES = new Set(['OpenAIBatch.Auth']);

/** The fatal OpenAI failure under an activity failure, if that is what it is. */
function fatalFailure(err: unknown): { type: string; message: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type && FATAL_TYPES.has(e.type)) return { type: e.type, message: e.message };
  }
  return undefined;
}

/** The chunk failed (not cancelled): report what is known so the job can finish. The caller rethrows. */
export async function onFailure(run: ChunkRun, err: unknown): Promise<void> {
  const { round, chunk } = run.input;
  const fatal = fatalFailure(err);
  const reason = fatal?.message ?? (err instanceof Error ? err.message : String(err));
  await CancellationScope.nonCancellable(async () => {
    const failed = await run.collect('failed', undefined, { reason }).catch((collectErr: unknown) => {
      log.warn('collect of a failed chunk failed; reporting it without records', { reason, error: String(collectErr) });
      return undefined;
    });
    const result = failed ?? emptyChunkResult({ round, index: chunk.index, estimatedCostUsd: chunk.estimatedCostUsd, batchIds: run.batchIds, reason });
    await run.signalDone(fatal ? { ...result, failureType: fatal.type } : result);
  });
}

/**
 * The chunk was cancelled: cancel its batch (adopting one a cancelled create may have made), wait
 * until it ends, collect what it finished and report. The caller rethrows the cancellation.
 */
export async function onCancel(run: ChunkRun): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    let id = run.batchId;
    if (!id && run.fileId && run.creating) {
      // A create may have reached OpenAI before the cancellation: find it by its key.
      const found = await adoptBatch(run, run.fileId);
      if (found) {
        id = found.batchId;
        run.batchIds.push(id);
      }
    }
    const partial = id ? await cancelAndCollect(run, id, false) : await run.collect('not_submitted', undefined, { reason: 'cancelled before submission' });
    await run.report({ phase: 'done' }, false);
    await run.signalDone(partial);
  });
}
