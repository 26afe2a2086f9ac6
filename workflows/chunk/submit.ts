import { proxyActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../activities/create-batch-activities.ts';
import type { BatchSnapshot, CreateBatchInput } from '../../activities/openai-batches.ts';
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
    notBeforeMs: input.jobStartedAtMs,
    ...(adoptOnly ? { adoptOnly: true } : { outputExpiresAfterSeconds: input.fileTtlSeconds }),
  };
}

function createProxy(run: ChunkRun) {
  return proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: run.input.wait.heartbeatTimeoutMs,
    retry: QUICK_RETRY,
  });
}

/** Creates the chunk's batch exactly once (adopting one found by its idempotency key). */
export async function submitBatch(run: ChunkRun, fileId: string): Promise<BatchSnapshot | null> {
  return await createProxy(run).createBatch.executeWithOptions(
    { summary: `create the batch of ${fileId} exactly once (key ${run.key()})` },
    [createBatchInput(run, fileId)],
  );
}

/** Finds a batch a create may have made before the chunk was cancelled; never creates one. */
export async function adoptBatch(run: ChunkRun, fileId: string): Promise<BatchSnapshot | null> {
  return await createProxy(run).createBatch(createBatchInput(run, fileId, true));
}
