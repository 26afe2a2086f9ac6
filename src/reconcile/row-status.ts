import type { RowStatus } from '../../common/job-types.ts';

/**
 * The final state of one row (one custom_id) of a chunk. `cancelled` with `error.code`
 * `not_submitted`: the job was cancelled before the row's chunk was submitted.
 */
export type ChunkRowStatus = Exclude<RowStatus, 'rejected'>;

/**
 * The final state of one row of a job: a chunk's, or `rejected` for an input line that planning
 * refused (onInvalid 'skip'), which finalize lists so that results.jsonl holds every input custom_id.
 */
export type { RowStatus };

export const ROW_STATUSES: readonly RowStatus[] = [
  'succeeded',
  'failed',
  'expired',
  'cancelled',
  'missing',
  'invalid_output',
  'rejected',
];

/** Zero counts for a chunk's statuses. */
export function emptyCounts(): Record<ChunkRowStatus, number> {
  return { succeeded: 0, failed: 0, expired: 0, cancelled: 0, missing: 0, invalid_output: 0 };
}

/** Zero counts for a job's statuses (a chunk's, and `rejected`). */
export function emptyJobCounts(): Record<RowStatus, number> {
  return { ...emptyCounts(), rejected: 0 };
}
