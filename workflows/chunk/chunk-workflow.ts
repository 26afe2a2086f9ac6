import {
  CancellationScope,
  CancelledFailure,
  ContinueAsNew,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { chunkInputFilename } from '../../common/job-options.ts';
import type { ChunkInput, ChunkResult } from '../../common/job-types.ts';
import { cancelAndCollect } from './cancel-and-collect.ts';
import { ChunkRun, type ChunkResume } from './chunk-run.ts';
import { onCancel, onFailure } from './on-failure.ts';
import { TOKEN_LIMIT_RETRIES } from '../patches.ts';
import { submitBatch } from './submit.ts';
import { isTokenLimitExceeded, mustReupload, tokenLimitBackoff, tokenLimitRetriesUsedUp } from './token-limit.ts';
import { continueAsNewIfLong, listenForBatchEnded, waitFor } from './wait-for.ts';
import { isTerminalStatus } from '../../common/batch-status.ts';
import { chunkLabels, recordBatchSubmitted } from '../metrics.ts';

/**
 * One chunk of one round (workflow id `<jobId>/r<round>/c<chunk>`): upload, create exactly once,
 * wait, collect. Reports progress and its result to the job by signal. Cancelled, it cancels its
 * OpenAI batch, waits for `cancelled`, collects the partial results, reports them, and ends cancelled.
 */
export async function openAIBatchChunk(input: ChunkInput, resume?: ChunkResume): Promise<ChunkResult> {
  const run = new ChunkRun(input, resume);
  run.listen();
  listenForBatchEnded(run);
  let result: ChunkResult;
  try {
    result = await runChunk(run);
  } catch (err) {
    // Continue-as-new is thrown as an error; it is not a failure of the chunk.
    if (err instanceof ContinueAsNew) throw err;
    // Cancelled, a create that then failed or timed out is a cancellation whose create is unsettled.
    const cancelledCreate = run.createSettles && run.creating && CancellationScope.current().consideredCancelled;
    if (isCancellation(err) || cancelledCreate) await onCancel(run);
    else await onFailure(run, err);
    // The chunk ends cancelled, also when its cancelled create failed or timed out.
    if (cancelledCreate && !isCancellation(err))
      throw new CancelledFailure(
        'cancelled while the batch was being created',
        [],
        err instanceof Error ? err : undefined,
      );
    throw err;
  }
  await run.report({ phase: 'done', done: run.progress.total }, false);
  await run.signalDone(result);
  return result;
}

/** Upload, then submit and wait until the batch ends (resubmitting after `token_limit_exceeded`), then collect. */
async function runChunk(run: ChunkRun): Promise<ChunkResult> {
  let fileId = run.fileId ?? (await upload(run));
  for (;;) {
    if (!run.batchId) {
      if (run.pastDeadline())
        return await run.collect('not_submitted', undefined, {
          cancelledByDeadline: true,
          reason: 'deadline passed before submission',
        });
      if (run.attempt > 1 && mustReupload(run)) fileId = await upload(run);
      await submit(run, fileId);
    }
    const batchId = run.batchId as string;
    await run.report({ phase: 'waiting', batchId }, true);
    const snapshot = await waitFor(run, batchId);
    if (snapshot.deadlineReached && run.deadlineMoved && !run.pastDeadline()) continue;
    if (snapshot.deadlineReached) return await cancelAndCollect(run, batchId, true);
    if (isTokenLimitExceeded(snapshot)) {
      const bounded = patched(TOKEN_LIMIT_RETRIES);
      if (bounded && tokenLimitRetriesUsedUp(run)) {
        log.warn('token_limit_exceeded on every submission; recording the rows for a later round', {
          batchId,
          attempt: run.attempt,
        });
        return await run.collect('failed', snapshot, {
          reason: `token_limit_exceeded on all ${run.attempt} submissions`,
        });
      }
      await tokenLimitBackoff(run, batchId, bounded);
      if (bounded) await continueAsNewIfLong(run, undefined);
      continue;
    }
    // waitFor returns a running batch only at the deadline, handled above.
    return await run.collect(isTerminalStatus(snapshot.status) ? snapshot.status : 'failed', snapshot);
  }
}

/** Uploads the chunk file to OpenAI (purpose `batch`). */
async function upload(run: ChunkRun): Promise<string> {
  const { chunk, fileTtlSeconds } = run.input;
  const filename = chunkInputFilename(workflowInfo().workflowId);
  const { fileId, expiresAtMs } = await run.activities.io.uploadChunk.executeWithOptions(
    { summary: `upload ${chunk.requests} requests (${chunk.bytes} bytes) as ${filename}` },
    [{ chunkUri: chunk.uri, filename, expiresAfterSeconds: fileTtlSeconds, metricTags: chunkLabels(run.input) }],
  );
  run.fileId = fileId;
  run.uploadedAtMs = Date.now();
  // OpenAI's own word on the expiry (from the activity's result, so replay sees the same).
  run.fileExpiresAtMs = expiresAtMs;
  return fileId;
}

/** Creates the batch of the current attempt and records its id. */
async function submit(run: ChunkRun, fileId: string): Promise<void> {
  await run.report({ phase: 'submitting' }, false);
  run.creating = true;
  const created = await submitBatch(run, fileId);
  if (!created && run.createSettles) {
    // Cancelled before it was sent, and no batch carries the key: nothing to cancel.
    run.creating = false;
    throw new CancelledFailure('cancelled before the batch was created');
  }
  if (!created) throw new Error('createBatch returned no batch');
  run.creating = false;
  run.batchId = created.batchId;
  run.batchIds.push(created.batchId);
  recordBatchSubmitted(chunkLabels(run.input), created.adopted ?? false);
}
