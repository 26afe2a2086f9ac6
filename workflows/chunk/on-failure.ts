import { CancellationScope, log, patched } from '@temporalio/workflow';
import type { ChunkResult } from '../../common/job-types.ts';
import { CANCEL_BATCH_ON_FAILURE, DELETE_UNSUBMITTED_INPUT, REPORT_WHEN_CANCEL_FAILS } from '../patches.ts';
import { cancelAndCollect } from './cancel-and-collect.ts';
import type { ChunkRun } from './chunk-run.ts';
import { adoptBatch } from './submit.ts';
import { chunkLabels, recordBatchSubmitted } from '../metrics.ts';
import { fatalFailureIn } from '../../common/failures.ts';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The chunk failed (not cancelled). A batch it knows of (or a create may have made) is cancelled
 * and the rows OpenAI finished are collected, so no batch runs on unwatched; then it reports what
 * is known so the job can finish. The caller rethrows.
 */
export async function onFailure(run: ChunkRun, err: unknown): Promise<void> {
  // Failures that would fail every chunk alike (a refused key): the job stops instead of trying the rest.
  const fatal = fatalFailureIn(err);
  const reason = fatal?.message ?? messageOf(err);
  await CancellationScope.nonCancellable(async () => {
    // A refused key refuses the cancel too: nothing to try.
    const partial = !fatal && patched(CANCEL_BATCH_ON_FAILURE) ? await cancelKnownBatch(run, reason) : undefined;
    const result = partial ?? (await run.collectOrEmpty('failed', undefined, reason));
    await run.signalDone(fatal ? { ...result, failureType: fatal.type } : result);
  });
}

/**
 * Cancels the batch a failed chunk knows of and collects what it finished; undefined if there is none or
 * that fails.
 */
async function cancelKnownBatch(run: ChunkRun, reason: string): Promise<ChunkResult | undefined> {
  try {
    const id = await knownBatchId(run);
    if (!id) return undefined;
    log.warn('chunk failed with its batch running: cancelling it and collecting what it finished', {
      batchId: id,
      reason,
    });
    return { ...(await cancelAndCollect(run, id, false)), reason };
  } catch (cancelErr) {
    log.warn("cancel and collect of a failed chunk's batch failed", {
      batchId: run.batchId,
      reason,
      error: messageOf(cancelErr),
    });
    return undefined;
  }
}

/** The chunk's batch, or the one a create in flight may have made (found by its key). */
async function knownBatchId(run: ChunkRun): Promise<string | undefined> {
  if (run.batchId || !run.fileId || !run.creating) return run.batchId;
  // A create may have reached OpenAI: find it by its key.
  const found = await adoptBatch(run, run.fileId);
  if (found) {
    run.batchId = found.batchId;
    run.batchIds.push(found.batchId);
    recordBatchSubmitted(chunkLabels(run.input), true);
  }
  return found?.batchId;
}

/**
 * The chunk was cancelled: cancel its batch (adopting one a cancelled create may have made), wait
 * until it ends, collect what it finished and report. When the cancel itself fails (a 401, 404 or
 * 400), the rows are still recorded and reported. The caller rethrows the cancellation.
 */
async function deleteUnsubmittedInput(run: ChunkRun, fileId: string): Promise<void> {
  await run.activities.quick.deleteFile
    .executeWithOptions({ summary: `delete input file ${fileId}: no batch will use it` }, [{ fileId }])
    .catch((err: unknown) =>
      log.warn('could not delete the input file of a chunk cancelled before submission', {
        fileId,
        error: messageOf(err),
      }),
    );
}

export async function onCancel(run: ChunkRun): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    let partial: ChunkResult;
    try {
      const id = await knownBatchId(run);
      partial = id
        ? await cancelAndCollect(run, id, false)
        : await run.collect('cancelled', undefined, { reason: 'cancelled before submission' });
      // No batch will read the uploaded input (the create, if any, has settled): do not leave it
      // at OpenAI until its TTL.
      if (!id && run.fileId && patched(DELETE_UNSUBMITTED_INPUT)) await deleteUnsubmittedInput(run, run.fileId);
    } catch (err) {
      if (!patched(REPORT_WHEN_CANCEL_FAILS)) throw err;
      const reason = cancelFailedReason(run.batchId, messageOf(err));
      log.warn('chunk cancel path failed; recording its rows as failed', {
        batchId: run.batchId,
        error: messageOf(err),
      });
      partial = await run.collectOrEmpty('failed', undefined, reason);
    }
    await run.report({ phase: 'done' }, false);
    await run.signalDone(partial);
  });
}

function cancelFailedReason(batchId: string | undefined, error: string): string {
  const stillRunning = batchId ? ` (batch ${batchId} may still run: cancel it at OpenAI)` : '';
  return `cancelling the chunk failed${stillRunning}: ${error}`;
}
