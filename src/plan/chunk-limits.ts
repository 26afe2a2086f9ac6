import type { ChunkLimits } from '../../common/job-types.ts';

/**
 * Every limit one batch must respect: the job's `ChunkLimits` (common/job-types.ts) with each
 * default filled in. Defaults are OpenAI's; Azure allows 100,000 requests.
 */
export interface ResolvedChunkLimits {
  /** @default 50_000 */
  maxRequests: number;
  /**
   * Bytes of the chunk file. OpenAI says "200 MB" without saying whether MB is 10^6 or 2^20, so
   * the default, 190 MiB (199,229,440 bytes), is under both readings.
   * @default 190 * 1024 * 1024
   */
  maxBytes: number;
  /** Embedding inputs across all requests of one batch. @default 50_000 */
  maxEmbeddingInputs: number;
  /** Estimated prompt tokens per batch (the enqueued-token limit of your tier). @default unlimited */
  maxTokensPerBatch?: number;
}

export const DEFAULT_CHUNK_LIMITS: Readonly<ResolvedChunkLimits> = {
  maxRequests: 50_000,
  maxBytes: 190 * 1024 * 1024,
  maxEmbeddingInputs: 50_000,
};

export function resolveLimits(overrides: ChunkLimits | undefined): ResolvedChunkLimits {
  const limits: ResolvedChunkLimits = { ...DEFAULT_CHUNK_LIMITS };
  if (overrides?.maxRequests !== undefined) limits.maxRequests = overrides.maxRequests;
  if (overrides?.maxBytes !== undefined) limits.maxBytes = overrides.maxBytes;
  if (overrides?.maxEmbeddingInputs !== undefined) limits.maxEmbeddingInputs = overrides.maxEmbeddingInputs;
  if (overrides?.maxTokensPerBatch !== undefined) limits.maxTokensPerBatch = overrides.maxTokensPerBatch;
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new InvalidLimitsError(`chunk limit ${key} must be a positive integer, got ${String(value)}`);
  }
  return limits;
}

/** A chunk limit that cannot work (not a positive integer): retrying cannot fix it. */
export class InvalidLimitsError extends RangeError {
  override readonly name = 'InvalidLimitsError';
}
