import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import OpenAI from 'openai';
import { chunkWorkflowId } from '../../common/job-options.ts';
import { batchEndedSignal, progressQuery, type BatchEndedHint } from '../../common/messages.ts';
import { BATCH_IDS } from '../../common/search-attributes.ts';

/** What became of a batch event whose signature was good. */
export type SignalOutcome =
  | { readonly outcome: 'signalled'; readonly workflowId: string }
  | { readonly outcome: 'unowned'; readonly reason: string };

/**
 * Signals the chunk workflow that owns `hint.batchId`: found from the batch's metadata (the
 * `job_id`, `round` and `chunk` that `createBatch` writes), else from the jobs whose
 * `OpenAIBatchIds` search attribute lists the batch. A batch no running chunk owns is `unowned`.
 * Errors reaching OpenAI or Temporal are thrown (the delivery is then answered 5xx and retried).
 */
export async function signalOwningChunk(
  openai: OpenAI,
  temporal: Client,
  hint: BatchEndedHint,
): Promise<SignalOutcome> {
  let batch: OpenAI.Batches.Batch;
  try {
    batch = await openai.batches.retrieve(hint.batchId);
  } catch (err) {
    // Another project's batch, or a made-up id: retrying the delivery would not change that.
    if (err instanceof OpenAI.NotFoundError) return { outcome: 'unowned', reason: 'OpenAI knows no such batch' };
    throw err;
  }
  const metadata = batch.metadata ?? {};
  const round = metadata['round'];
  const chunk = metadata['chunk'];
  if (round === undefined || chunk === undefined || !/^\d+$/.test(round) || !/^\d+$/.test(chunk))
    return { outcome: 'unowned', reason: 'the batch has no round/chunk metadata (not created by a job)' };
  const candidates: string[] = [];
  const jobId = metadata['job_id'];
  if (jobId) candidates.push(jobId);
  for (const id of candidates) {
    const workflowId = chunkWorkflowId(id, Number(round), Number(chunk));
    if (await signal(temporal, workflowId, hint)) return { outcome: 'signalled', workflowId };
  }
  // The metadata does not name the job (a batch someone else created with the chunk's key, which
  // the chunk adopted): ask visibility which job lists the batch, and the job for its id (the
  // chunks are named by it, and a job's workflow id may differ).
  for await (const job of temporal.workflow.list({ query: `${BATCH_IDS.name} = '${hint.batchId}'`, pageSize: 10 })) {
    const owner = await jobIdOf(temporal, job.workflowId);
    if (candidates.includes(owner)) continue;
    candidates.push(owner);
    const workflowId = chunkWorkflowId(owner, Number(round), Number(chunk));
    if (await signal(temporal, workflowId, hint)) return { outcome: 'signalled', workflowId };
  }
  return { outcome: 'unowned', reason: 'no running chunk workflow owns the batch' };
}

/** The job id of the job workflow `workflowId`, from its progress query (its workflow id if it cannot answer). */
async function jobIdOf(temporal: Client, workflowId: string): Promise<string> {
  try {
    return (await temporal.workflow.getHandle(workflowId).query(progressQuery)).jobId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return workflowId;
    throw err;
  }
}

/** Signals a running workflow; false when there is none by that id (ended, or never started). */
async function signal(temporal: Client, workflowId: string, hint: BatchEndedHint): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).signal(batchEndedSignal, hint);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
