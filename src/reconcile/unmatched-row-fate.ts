import type { RowError } from './row-record.ts';
import type { ChunkRowStatus } from './row-status.ts';
import type { BatchErrorEntry } from './reconcile-chunk.ts';

type Fate = (chunkLine: number) => { status: ChunkRowStatus; error: RowError | null };

/**
 * What happened to a row that is in neither the output nor the error file, given how the batch
 * ended: an expired or cancelled batch never ran it (`submitted` false: there was no batch, the
 * job was cancelled first); a failed batch refused the whole file (its
 * per-line errors name lines); a completed batch lost it (`missing`, retryable).
 */
export function unmatchedRowFate(
  batchStatus: string,
  batchErrors: readonly BatchErrorEntry[],
  submitted = true,
  byDeadline = false,
): Fate {
  switch (batchStatus) {
    case 'expired':
      return () => ({
        status: 'expired',
        error: { code: 'batch_expired', message: 'the batch expired before this request ran' },
      });
    case 'cancelled':
      // Cancelled with no batch: the job (or chunk) was cancelled before the chunk was submitted.
      if (!submitted)
        return () => ({
          status: 'cancelled',
          error: { code: 'not_submitted', message: 'the job was cancelled before this chunk was submitted' },
        });
      return () => ({
        status: 'cancelled',
        error: { code: 'batch_cancelled', message: 'the batch was cancelled before this request ran' },
      });
    case 'not_submitted':
      return () => ({
        status: 'failed',
        error: {
          code: 'not_submitted',
          // Skipped chunks are the budget's or the deadline's (a cancel records its rows as cancelled).
          message: byDeadline
            ? "the job's deadline passed before this chunk was submitted"
            : "the chunk was not submitted: the job's cost budget (maxCostUsd) would have been exceeded",
        },
      });
    case 'failed': {
      const byLine = new Map<number, BatchErrorEntry>();
      for (const e of batchErrors) if (typeof e.line === 'number' && !byLine.has(e.line)) byLine.set(e.line, e);
      const general = batchErrors.find((e) => e.line === null || e.line === undefined) ?? batchErrors[0];
      return (line) => {
        const e = byLine.get(line) ?? general;
        return {
          status: 'failed',
          error: {
            code: e?.code ?? 'batch_failed',
            message: e?.message ?? 'the batch failed validation',
            ...(e?.param !== undefined ? { param: e.param } : {}),
            ...(e?.line !== undefined ? { line: e.line } : {}),
          },
        };
      };
    }
    default:
      return () => ({
        status: 'missing',
        error: {
          code: 'missing',
          message: 'the request is in neither the output nor the error file of a completed batch',
        },
      });
  }
}
