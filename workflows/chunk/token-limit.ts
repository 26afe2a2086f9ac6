import { log, patched, sleep } from '@temporalio/workflow';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import { DEFAULT_WAIT } from '../../common/job-options.ts';
import { CANCEL_IN_BACKOFF_NOT_SUBMITTED, INPUT_EXPIRY_FROM_OPENAI, REUPLOAD_EXPIRED_INPUT } from '../patches.ts';
import type { ChunkRun } from './chunk-run.ts';
import { chunkLabels, recordTokenLimitBackoff } from '../metrics.ts';

/** Share of `tokenLimitBackoffMs` each backoff moves either way, so chunks do not resubmit together. */
export const TOKEN_LIMIT_JITTER = 0.2;

/**
 * Time an input file must still have before a resubmission may reuse it (OpenAI reads it while the batch
 * validates).
 */
export const INPUT_TTL_MARGIN_MS = 900_000;

export function isTokenLimitExceeded(snapshot: BatchSnapshot): boolean {
  return snapshot.status === 'failed' && (snapshot.errors?.some((e) => e.code === 'token_limit_exceeded') ?? false);
}

/** Whether the chunk has used up its resubmissions after `token_limit_exceeded` (`attempt` counts submissions). */
export function tokenLimitRetriesUsedUp(run: ChunkRun): boolean {
  return run.attempt - 1 >= (run.input.wait.maxTokenLimitRetries ?? DEFAULT_WAIT.maxTokenLimitRetries);
}

/**
 * The organization's enqueued-token queue is full: wait, then let the caller submit the same rows
 * again under the next attempt's key. `jitter`: the wait moves by up to ±20% (workflow
 * `Math.random` is seeded per run, so replay waits the same).
 */
export async function tokenLimitBackoff(run: ChunkRun, batchId: string, jitter: boolean): Promise<void> {
  const { deadline, input } = run;
  log.info('token_limit_exceeded; resubmitting later', { batchId, attempt: run.attempt });
  recordTokenLimitBackoff(chunkLabels(input));
  // The failed batch is over (nothing to cancel or collect): the chunk and the job forget it, so
  // that a cancel during the wait records the rows as never submitted (cancelled / not_submitted),
  // and a recovery after a terminate looks up the next attempt's batch instead of this one.
  const forget = patched(CANCEL_IN_BACKOFF_NOT_SUBMITTED);
  if (forget) run.batchId = undefined;
  await run.report(
    { phase: 'token_limit_backoff', batchStatus: 'failed', ...(forget ? { batchId: undefined } : {}) },
    true,
  );
  const backoff = jitter
    ? Math.round(input.wait.tokenLimitBackoffMs * (1 - TOKEN_LIMIT_JITTER + 2 * TOKEN_LIMIT_JITTER * Math.random()))
    : input.wait.tokenLimitBackoffMs;
  const wait = deadline === undefined ? backoff : Math.min(backoff, Math.max(0, deadline - Date.now()));
  await sleep(wait, { summary: 'token_limit_exceeded: wait before resubmitting' });
  run.attempt += 1;
  run.batchId = undefined;
}

/**
 * When the chunk's input file expires at OpenAI (epoch ms): as OpenAI said at the upload, else (an
 * upload recorded before it said so) the upload time plus the TTL asked for; undefined when unknown.
 */
export function inputFileExpiresAtMs(
  file: { readonly uploadedAtMs: number | undefined; readonly fileExpiresAtMs: number | undefined },
  ttlSeconds: number | undefined,
): number | undefined {
  if (file.fileExpiresAtMs !== undefined) return file.fileExpiresAtMs;
  if (file.uploadedAtMs === undefined || ttlSeconds === undefined) return undefined;
  return file.uploadedAtMs + ttlSeconds * 1000;
}

/** Whether an input file expiring at `expiresAtMs` may be gone (or go) before a batch created `nowMs` reads it. */
export function inputFileMayHaveExpired(expiresAtMs: number | undefined, nowMs: number): boolean {
  return expiresAtMs !== undefined && nowMs + INPUT_TTL_MARGIN_MS >= expiresAtMs;
}

/** Whether a resubmission must upload the chunk again (its file may have expired at OpenAI). */
export function mustReupload(run: ChunkRun): boolean {
  const fromOpenAI = run.fileExpiresAtMs !== undefined && patched(INPUT_EXPIRY_FROM_OPENAI);
  const file = { uploadedAtMs: run.uploadedAtMs, fileExpiresAtMs: fromOpenAI ? run.fileExpiresAtMs : undefined };
  return (
    inputFileMayHaveExpired(inputFileExpiresAtMs(file, run.input.fileTtlSeconds), Date.now()) &&
    patched(REUPLOAD_EXPIRED_INPUT)
  );
}
