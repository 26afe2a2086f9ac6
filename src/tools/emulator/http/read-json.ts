import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.ts';

const MAX_JSON_BYTES = 1024 * 1024;

/** Reads a small JSON request body; malformed JSON gets OpenAI's 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_JSON_BYTES) throw new ApiError(400, 'The request body is too large.');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, INVALID_JSON_MESSAGE);
  }
}

const INVALID_JSON_MESSAGE =
  'We could not parse the JSON body of your request. ' +
  "(HINT: This likely means you aren't using your HTTP library correctly. " +
  'The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)';
