import type { ChunkEnd, ChunkResult, TokenUsage } from '../common/job-types.ts';

/** Token usage of a chunk that used none. */
export const ZERO_USAGE: TokenUsage = { input: 0, cachedInput: 0, output: 0, reasoning: 0 };

/** What `collectChunk` returns, for a chunk whose rows could not be written: no records at all. */
export const NO_RECORDS = { recordsUri: '', retryCount: 0, counts: {}, usage: ZERO_USAGE } as const;

/** Identifies the chunk an empty result stands for, and why it is empty. */
export interface EmptyChunkResultInput {
  readonly round: number;
  readonly index: number;
  readonly estimatedCostUsd: number;
  readonly batchIds?: readonly string[] | undefined;
  readonly end?: ChunkEnd | undefined;
  readonly reason: string;
}

/**
 * The result of a chunk that has no records file (its collect failed, or its workflow ended
 * without reporting): it still counts as ended, so the job never waits for it again.
 */
export function emptyChunkResult(input: EmptyChunkResultInput): ChunkResult {
  return {
    round: input.round,
    index: input.index,
    end: input.end ?? 'failed',
    batchIds: input.batchIds ?? [],
    estimatedCostUsd: input.estimatedCostUsd,
    reason: input.reason,
    ...NO_RECORDS,
  };
}
