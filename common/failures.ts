// Every `ApplicationFailure.type` the project throws, and the lists built from them that workflows
// and activities share. Sandbox-safe: workflows, activities and the error mapping import it.
import { ApplicationFailure } from '@temporalio/common';

/** The failure types, namespaced `OpenAIBatch.*` so that the UI and `nonRetryableErrorTypes` can tell them apart. */
export const FAILURE_TYPES = {
  /** HTTP 429 from OpenAI; retried after its `retry-after`. */
  rateLimit: 'OpenAIBatch.RateLimit',
  /** HTTP 401/403: a wrong or revoked API key, or the wrong organization or project. Not retried; fatal for the job. */
  auth: 'OpenAIBatch.Auth',
  /** Any other HTTP 4xx. Not retried. */
  badRequest: 'OpenAIBatch.BadRequest',
  /** HTTP 404. Not retried. */
  notFound: 'OpenAIBatch.NotFound',
  /** HTTP 409. Retried. */
  conflict: 'OpenAIBatch.Conflict',
  /** HTTP 5xx. Retried. */
  server: 'OpenAIBatch.ServerError',
  /** No connection, or a connection lost mid-body. Retried. */
  connection: 'OpenAIBatch.Connection',
  /** HTTP 408 or the client's own timeout. Retried. */
  timeout: 'OpenAIBatch.Timeout',
  /** An API error with no HTTP status. Retried. */
  unknown: 'OpenAIBatch.Unknown',
  /** The job's input cannot be used as it is (the details name lines and reasons). Not retried. */
  invalidInput: 'OpenAIBatch.InvalidInput',
  /** The benign "batch still running" retry of `waitForBatch`: each attempt is one poll. */
  batchRunning: 'OpenAIBatch.BatchRunning',
  /** The benign retry of `createBatch` after an attempt that only made sure no earlier create can still land. */
  createSettled: 'OpenAIBatch.CreateSettled',
  /** The worker's OpenAI configuration cannot work (e.g. a base URL with credentials in it). Not retried. */
  config: 'OpenAIBatch.Config',
  /** Storage cannot serve a file the job needs (missing, outside the root): not retried. A chunk file that changed while it was uploaded: retried. */
  storage: 'OpenAIBatch.Storage',
  /** A `retryFailedRows` or `extendDeadline` update the job refused, with its reason. */
  updateRejected: 'OpenAIBatch.UpdateRejected',
  /** A job ended with rows that no file records (a chunk whose rows could not be written): it fails. */
  unrecordedRows: 'OpenAIBatch.UnrecordedRows',
} as const;

/** One of {@link FAILURE_TYPES}. */
export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/** Failures that would fail every chunk alike: a chunk reports it, and the job stops submitting and fails with it. */
export const FATAL_FAILURE_TYPES: readonly FailureType[] = [FAILURE_TYPES.auth];

/**
 * The `nonRetryableErrorTypes` of the workflows' activity proxies: never retried, whatever the
 * activity's retry policy (the activities also throw them as non-retryable).
 */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = [FAILURE_TYPES.invalidInput];

/** The fatal failure (type and message) under an activity or child failure, if that is what it is. */
export function fatalFailureIn(err: unknown): { type: FailureType; message: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const type = e instanceof ApplicationFailure ? e.type : undefined;
    const fatal = FATAL_FAILURE_TYPES.find((t) => t === type);
    if (fatal) return { type: fatal, message: e.message };
  }
  return undefined;
}

/** The updates a job can refuse. */
export type RefusableUpdate = 'retryFailedRows' | 'extendDeadline';

/**
 * The one way a job refuses an update, from its validator or its handler: a non-retryable
 * `OpenAIBatch.UpdateRejected` failure whose message is `<update> rejected: <why>` (the CLI prints
 * the reason after that prefix). Throw what it returns.
 */
export function updateRejected(update: RefusableUpdate, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${update} rejected: ${why}`,
    type: FAILURE_TYPES.updateRejected,
    nonRetryable: true,
  });
}
