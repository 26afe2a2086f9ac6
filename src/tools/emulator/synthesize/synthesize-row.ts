import { createHash } from 'node:crypto';
import { SeededRandom } from '../seeded-random.ts';
import { chatCompletion } from './chat-completion.ts';
import { textCompletion } from './completion.ts';
import { embeddingList } from './embedding.ts';
import { moderation } from './moderation.ts';
import { responseObject } from './response.ts';
import type { RowResult, SynthesisContext } from './row-result.ts';

const SYNTHESIZERS: Record<string, (body: Record<string, unknown>, ctx: SynthesisContext) => RowResult> = {
  '/v1/chat/completions': chatCompletion,
  '/v1/responses': responseObject,
  '/v1/embeddings': embeddingList,
  '/v1/completions': textCompletion,
  '/v1/moderations': moderation,
};

/** Endpoints whose rows the emulator can answer. */
export const SYNTHESIZED_ENDPOINTS: readonly string[] = Object.keys(SYNTHESIZERS);

/**
 * Executes one request line. The answer depends only on endpoint and body (its raw JSON text),
 * so the same request always gets the same answer, across batches and restarts.
 */
export function synthesizeRow(
  endpoint: string,
  bodyText: string,
  body: Record<string, unknown>,
  createdSec: number,
): RowResult {
  const synthesize = SYNTHESIZERS[endpoint];
  if (!synthesize) {
    return {
      ok: false,
      status: 400,
      error: {
        message: `The emulator does not synthesize responses for ${endpoint}.`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    };
  }
  const digest = createHash('sha256').update(endpoint).update('\u0000').update(bodyText).digest('hex');
  return synthesize(body, { digest, createdSec, random: new SeededRandom(digest) });
}
