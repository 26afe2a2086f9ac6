import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { FAILURE_TYPES } from '../common/failures.ts';
import { callOpenAI } from '../src/openai/errors.ts';

/**
 * The batch files at OpenAI named `filename`, newest first, back to `notBeforeMs` (epoch ms).
 * Chunk files carry job-unique names (`<jobId>_r<round>_c<chunk>.jsonl`), so the name finds what
 * an attempt or a chunk uploaded even when its file id was never reported. Heartbeats per file.
 */
export async function filesNamed(
  client: OpenAI,
  filename: string,
  notBeforeMs: number,
): Promise<OpenAI.Files.FileObject[]> {
  const context = Context.current();
  const notBeforeSeconds = Math.floor(notBeforeMs / 1000);
  return await callOpenAI('files.list', async () => {
    const found: OpenAI.Files.FileObject[] = [];
    for await (const file of client.files.list(
      { purpose: 'batch', order: 'desc', limit: 1000 },
      { signal: context.cancellationSignal },
    )) {
      context.heartbeat();
      if (file.created_at < notBeforeSeconds) break;
      if (file.filename === filename) found.push(file);
    }
    return found;
  });
}

/** Deletes a file at OpenAI; one already gone (deleted by a racing attempt, or expired) is no failure. */
export async function deleteFileQuietly(client: OpenAI, fileId: string): Promise<void> {
  try {
    await callOpenAI('files.delete', () => client.files.delete(fileId));
  } catch (err) {
    if (!(err instanceof ApplicationFailure && err.type === FAILURE_TYPES.notFound)) throw err;
  }
}
