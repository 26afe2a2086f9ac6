import type { ServerResponse } from 'node:http';
import { ApiError } from './api-error.ts';

/** Sends a JSON body with the headers OpenAI always sets. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.toBody(), err.headers);
}

/** Turns anything thrown by a handler into an OpenAI-shaped error response. */
export function sendUnknownError(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) return sendError(res, err);
  console.error('[emulator] internal error', err);
  sendError(res, new ApiError(500, 'The server had an error while processing your request.', { type: 'server_error' }));
}
