import type { BatchEndpoint } from '../../common/job-types.ts';

/** The Batch API endpoints this package plans and reconciles (the type lives in common/, for workflows). */
export type { BatchEndpoint };

export const BATCH_ENDPOINTS: readonly BatchEndpoint[] = [
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
];

export function isBatchEndpoint(value: unknown): value is BatchEndpoint {
  return typeof value === 'string' && (BATCH_ENDPOINTS as readonly string[]).includes(value);
}
