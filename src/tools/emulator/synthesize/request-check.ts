import { missingParameter, type RowResult } from './row-result.ts';

const REQUIRED: Record<string, readonly string[]> = {
  '/v1/chat/completions': ['model', 'messages'],
  '/v1/responses': ['model', 'input'],
  '/v1/embeddings': ['model', 'input'],
  '/v1/completions': ['model', 'prompt'],
  '/v1/moderations': ['input'],
};

/**
 * The 400 a row gets when it is executed without a required parameter. OpenAI validates bodies
 * per request, at execution, so such rows land in the error file instead of failing the batch.
 */
export function requestError(endpoint: string, body: Record<string, unknown>): RowResult | null {
  for (const param of REQUIRED[endpoint] ?? []) {
    const value = body[param];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0))
      return missingParameter(param);
  }
  return null;
}
