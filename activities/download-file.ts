import { FAILURE_TYPES } from '../common/failures.ts';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { BlobStorage } from '../src/storage/index.ts';
import { callOpenAI } from '../src/openai/errors.ts';
import { heartbeatingBytes } from './heartbeat.ts';
import { recordBytesDownloaded } from './metrics.ts';

/**
 * Streams an OpenAI file (a batch's output or error file) into storage at `uri`, heartbeating the
 * bytes received, and returns `uri`.
 *
 * Written atomically and named by batch, so a retry after a crash reuses a file that was fully
 * downloaded. A retry of a partial download starts again at byte 0: the files content endpoint
 * documents no `Range` support (neither the OpenAPI spec nor openai-node), so there is nothing to
 * resume from. What a retry must never do is take a short body for the whole file: the bytes
 * received are checked against `content-length`, or against the file's `bytes` when a gateway
 * drops that header, before the file is renamed into place.
 */
export async function downloadFile(client: OpenAI, storage: BlobStorage, fileId: string, uri: string): Promise<string> {
  if (await storage.exists(uri)) return uri;
  const context = Context.current();
  const response = await callOpenAI(
    'files.content',
    () => client.files.content(fileId, { signal: context.cancellationSignal }),
    { 'openai.file.id': fileId },
  );
  if (!response.body)
    throw ApplicationFailure.retryable(`files.content(${fileId}) returned no body`, FAILURE_TYPES.connection);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const expected =
    Number.isInteger(declared) && declared >= 0
      ? declared
      : (await callOpenAI('files.retrieve', () => client.files.retrieve(fileId))).bytes;
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  let received = 0;
  async function* checked(): AsyncGenerator<Uint8Array | string> {
    for await (const part of heartbeatingBytes(body, 'bytesReceived')) {
      received += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
      yield part;
    }
    if (received !== expected) throw new Error(`the body ended after ${received} of ${expected} bytes`);
  }
  try {
    await storage.writeAtomic(uri, checked());
    recordBytesDownloaded(received);
  } catch (err) {
    if (context.cancellationSignal.aborted) throw err;
    // A connection dropped mid-body (or a short body) surfaces here, not in files.content.
    throw ApplicationFailure.create({
      message: `downloading ${fileId} failed: ${String(err)}`,
      type: FAILURE_TYPES.connection,
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }
  return uri;
}
