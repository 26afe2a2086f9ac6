// Errors of the job's own steps that no retry can fix, turned into non-retryable failures at the
// activity boundary. Everything else (a transient I/O error) passes through and is retried.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../common/failures.ts';
import { InvalidInputError, InvalidLimitsError } from '../src/plan/index.ts';
import { StorageError } from '../src/storage/index.ts';
import { ProviderMismatchError } from '../src/openai/providers/provider-checks.ts';

/**
 * The non-retryable failure for an error the user must fix (bad input lines, a file storage cannot
 * serve, impossible chunk limits), or `err` itself. `fix` says what to do about a storage error.
 */
export function stepFailure(err: unknown, fix: string, options: { fatalFromAttempt?: number } = {}): unknown {
  if (err instanceof InvalidInputError) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
      details: [err.report],
    });
  }
  if (err instanceof InvalidLimitsError) {
    return ApplicationFailure.create({
      message: `${err.message}; fix the job's \`limits\` option and start the job again`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  }
  if (err instanceof ProviderMismatchError) {
    return ApplicationFailure.create({
      message: `${err.message}, and start the job again`,
      type: FAILURE_TYPES.config,
      nonRetryable: true,
    });
  }
  // A file the job wrote itself may be missing only on this worker (a different or late-visible
  // root): other workers get a few attempts before the step gives up, since starting the job again
  // pays for every batch again.
  if (err instanceof StorageError && Context.current().info.attempt >= (options.fatalFromAttempt ?? 1)) {
    return ApplicationFailure.create({
      message: `${err.message}. Retrying cannot fix this: ${fix}`,
      type: FAILURE_TYPES.storage,
      nonRetryable: true,
      details: [{ uri: err.uri }],
      cause: err,
    });
  }
  return err;
}

/** The fix for a storage error while reading the job's input. */
export function inputFix(rootUri: string): string {
  return (
    `the job's inputUri must name an existing, readable file under the workers' storage root (${rootUri}); ` +
    'a relative path resolves against that root. Write the file there, or pass its URI, and start the job again.'
  );
}

/** The fix for a storage error on a file the job wrote itself (a chunk, its records, a report). */
export function jobFilesFix(rootUri: string): string {
  return (
    `a file of the job is missing or outside the storage root (${rootUri}). Every worker of a job must use ` +
    "the same storage root, and nothing may delete a running job's files; start the job again."
  );
}

/** Attempts a step on the job's own files gets before a storage error fails it (about 5 minutes of backoff). */
export const JOB_FILE_ATTEMPTS = 10;
