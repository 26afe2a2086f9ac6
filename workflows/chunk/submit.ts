import { ActivityCancellationType, patched, proxyActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../activities/create-batch-activities.ts';
import type { CreateBatchInput } from '../../activities/create-batch.ts';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import { CREATE_BATCH_SETTLES } from '../patches.ts';
import { QUICK_RETRY } from './activities.ts';
import type { ChunkRun } from './chunk-run.ts';

/** The input of `createBatch` for the chunk's current attempt; `adoptOnly` never creates. */
export function createBatchInput(run: ChunkRun, fileId: string, adoptOnly = false): CreateBatchInput {
  const { input } = run;
  return {
    jobId: input.jobId,
    round: input.round,
    chunk: input.chunk.index,
    inputFileId: fileId,
    endpoint: input.endpoint,
    idempotencyKey: run.key(),
    notBeforeMs: run.createTriedAtMs,
    ...(adoptOnly ? { adoptOnly: true } : { outputExpiresAfterSeconds: input.fileTtlSeconds }),
  };
}

function createProxy(run: ChunkRun) {
  if (run.createSettles) {
    // A cancelled create is waited for: it may already be at OpenAI, and only its answer (the
    // batch, or the proof that none can appear) lets the cancel path cancel what it made. Its
    // attempts wait out an earlier attempt's create (activities/create-batch.ts), hence the bound.
    return proxyActivities<BatchActivities>({
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: run.input.wait.heartbeatTimeoutMs,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: QUICK_RETRY,
    });
  }
  return proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: run.input.wait.heartbeatTimeoutMs,
    retry: QUICK_RETRY,
  });
}

/**
 * Creates the chunk's batch exactly once (adopting one found by its idempotency key). Null only
 * under CREATE_BATCH_SETTLES, when the chunk was cancelled before a create was sent.
 */
export async function submitBatch(run: ChunkRun, fileId: string): Promise<BatchSnapshot | null> {
  run.createSettles = patched(CREATE_BATCH_SETTLES);
  if (run.createSettles) run.createTriedAtMs = Date.now();
  return await createProxy(run).createBatch.executeWithOptions(
    { summary: `create the batch of ${fileId} exactly once (key ${run.key()})` },
    [createBatchInput(run, fileId)],
  );
}

/** Finds a batch a create may have made before the chunk was cancelled; never creates one. */
export async function adoptBatch(run: ChunkRun, fileId: string): Promise<BatchSnapshot | null> {
  return await createProxy(run).createBatch(createBatchInput(run, fileId, true));
}
