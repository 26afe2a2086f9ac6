import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ChunkProgress,
  ChunkResult,
  ExtendDeadlineRequest,
  ExtendDeadlineResult,
  JobProgress,
  RetryNowResult,
} from './job-types.ts';

/** The job's progress as JSON (the same facts as its Markdown current details). */
export const progressQuery = defineQuery<JobProgress>('progress');

/**
 * Starts a retry round now for the retryable rows of the chunks that have finished, instead of
 * waiting for the whole round to end. Rejected (by its validator, so nothing enters history) when
 * the job is not running, nothing is retryable yet, the deadline passed or `maxRounds` is used up.
 */
export const retryFailedRowsUpdate = defineUpdate<RetryNowResult, []>('retryFailedRows');

/**
 * Moves the job's deadline later. The job tells its running chunks, which enforce the deadline
 * themselves. Rejected when the job has no deadline, the deadline already passed, or the new one is
 * not later.
 */
export const extendDeadlineUpdate = defineUpdate<ExtendDeadlineResult, [ExtendDeadlineRequest]>('extendDeadline');

/** A chunk workflow's live state. */
export const chunkProgressQuery = defineQuery<ChunkProgress>('chunkProgress');

/** Sent by a chunk workflow to its job at each progress refresh. */
export const chunkProgressSignal = defineSignal<[ChunkProgress]>('chunkProgress');

/**
 * Sent by a chunk workflow to its job when it ends. The job learns of its children by signal, by
 * workflow id, so that children started before a continue-as-new still reach the new run.
 */
export const chunkDoneSignal = defineSignal<[ChunkResult]>('chunkDone');

/** Sent by the job to its running chunks when its deadline moves: the new deadline, epoch ms. */
export const chunkDeadlineSignal = defineSignal<[{ readonly deadlineMs: number }]>('chunkDeadline');

/** What a webhook receiver tells a chunk: OpenAI says its batch ended (a hint, confirmed by a poll). */
export interface BatchEndedHint {
  readonly batchId: string;
  /** The webhook event's type, e.g. `batch.completed`. */
  readonly event: string;
}

/** Sent by the webhook receiver to the chunk that owns a batch when OpenAI reports the batch ended. */
export const batchEndedSignal = defineSignal<[BatchEndedHint]>('batchEnded');
