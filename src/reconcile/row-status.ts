/** The final state of one row (one custom_id) of a chunk. */
export type RowStatus = 'succeeded' | 'failed' | 'expired' | 'cancelled' | 'missing' | 'invalid_output';

export const ROW_STATUSES: readonly RowStatus[] = ['succeeded', 'failed', 'expired', 'cancelled', 'missing', 'invalid_output'];

export function emptyCounts(): Record<RowStatus, number> {
  return { succeeded: 0, failed: 0, expired: 0, cancelled: 0, missing: 0, invalid_output: 0 };
}
