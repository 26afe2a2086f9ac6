import { ApplicationFailure } from '@temporalio/common';
import type { Attributes } from '@opentelemetry/api';
import { tracedOpenAICall } from '../metrics/tracing.ts';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { FAILURE_TYPES } from '../../common/failures.ts';
import { redactErrorInPlace, redactKeys } from './redact.ts';

/** The `ApplicationFailure.type` of every failure this module produces (all from `common/failures.ts`). */
export const OPENAI_FAILURE_TYPES = {
  rateLimit: FAILURE_TYPES.rateLimit,
  auth: FAILURE_TYPES.auth,
  badRequest: FAILURE_TYPES.badRequest,
  notFound: FAILURE_TYPES.notFound,
  conflict: FAILURE_TYPES.conflict,
  server: FAILURE_TYPES.server,
  connection: FAILURE_TYPES.connection,
  timeout: FAILURE_TYPES.timeout,
  unknown: FAILURE_TYPES.unknown,
} as const;

/**
 * Maps an error thrown by the OpenAI SDK to an `ApplicationFailure`: retryable for 408, 409, 429,
 * 5xx, connection errors and timeouts; not retryable for bad requests, auth and not-found. A
 * `retry-after` (or `retry-after-ms`) header becomes `nextRetryDelay`. The original is the cause.
 * Anything else is returned unchanged (Temporal retries plain errors by the activity's policy).
 * Key-shaped strings (a 401 quotes the refused key, masked) are redacted from the message and the
 * cause, which reach history, logs and result files.
 */
export function toApplicationFailure(err: unknown, action = 'OpenAI call'): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Error) redactErrorInPlace(err);
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return failure(`${action} timed out`, OPENAI_FAILURE_TYPES.timeout, false, err);
  }
  if (err instanceof APIConnectionError) {
    return failure(`${action} could not connect: ${err.message}`, OPENAI_FAILURE_TYPES.connection, false, err);
  }
  if (!(err instanceof APIError)) return err;
  const apiError = err as APIError<number | undefined, Headers | undefined>;
  const status: number = apiError.status ?? 0;
  const message = `${action} failed with HTTP ${status}: ${apiError.message}`;
  const retryAfterMs = retryAfterFromHeaders(apiError.headers);
  if (status === 429) return failure(message, OPENAI_FAILURE_TYPES.rateLimit, false, err, retryAfterMs);
  // Azure's fail-fast regions refuse the create itself while the enqueued-token queue is full: the
  // queue drains as batches finish, so wait and create again (no batch exists to collide with).
  if (status === 400 && apiError.code === 'token_limit_exceeded')
    return failure(message, OPENAI_FAILURE_TYPES.rateLimit, false, err, retryAfterMs ?? TOKEN_QUEUE_FULL_RETRY_MS);
  if (status === 401 || status === 403) return failure(message, OPENAI_FAILURE_TYPES.auth, true, err);
  if (status === 404) return failure(message, OPENAI_FAILURE_TYPES.notFound, true, err);
  if (status === 408) return failure(message, OPENAI_FAILURE_TYPES.timeout, false, err, retryAfterMs);
  if (status === 409) return failure(message, OPENAI_FAILURE_TYPES.conflict, false, err, retryAfterMs);
  if (status >= 500) return failure(message, OPENAI_FAILURE_TYPES.server, false, err, retryAfterMs);
  if (status >= 400) return failure(message, OPENAI_FAILURE_TYPES.badRequest, true, err);
  return failure(message, OPENAI_FAILURE_TYPES.unknown, false, err, retryAfterMs);
}

/**
 * Runs an OpenAI call and rethrows its error mapped by {@link toApplicationFailure}. The call is a
 * span `openai <action>` (when tracing is on) with `attributes` and the ids it returns.
 */
export async function callOpenAI<T>(action: string, call: () => Promise<T>, attributes: Attributes = {}): Promise<T> {
  return await tracedOpenAICall(action, attributes, async () => {
    try {
      return await call();
    } catch (err) {
      throw toApplicationFailure(err, action);
    }
  });
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present. */
export function retryAfterFromHeaders(headers: Headers | undefined, nowMs = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** How long a create refused for a full enqueued-token queue waits before the next attempt. */
const TOKEN_QUEUE_FULL_RETRY_MS = 60_000;

/** The shortest `nextRetryDelay` a mapped failure asks for. */
const MIN_NEXT_RETRY_DELAY_MS = 100;

function failure(
  message: string,
  type: string,
  nonRetryable: boolean,
  cause: Error,
  nextRetryDelayMs?: number,
): ApplicationFailure {
  return ApplicationFailure.create({
    message: redactKeys(message),
    type,
    nonRetryable,
    cause,
    // "retry-after: 0" means "now"; Temporal reads a zero nextRetryDelay as "no more retries"
    // (the activity then fails at once), so a delay under the floor is raised to it.
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: Math.max(MIN_NEXT_RETRY_DELAY_MS, nextRetryDelayMs) } : {}),
  });
}
