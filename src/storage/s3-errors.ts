import { StorageError } from './storage-error.ts';

/** What a failed request was about, for a message that names it. */
export interface S3ErrorContext {
  readonly uri: string;
  readonly bucket: string;
  readonly rootUri: string;
  readonly endpoint: string;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

const AUTH = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
]);
const REGION = new Set(['AuthorizationHeaderMalformed', 'PermanentRedirect', 'IllegalLocationConstraintException']);
// 408, 409 (OperationAborted), 429 and 5xx are worth retrying; a 4xx otherwise stays wrong.
const TRANSIENT_STATUS = new Set([408, 409, 429]);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors whose message {@link s3Failure} rewrote to name an unreachable endpoint. */
const unreachable = new WeakSet<Error>();

/**
 * The one line to show a person for a storage failure they can act on: a `StorageError`, or an
 * S3 endpoint that cannot be reached. Undefined for anything else (show it whole).
 */
export function storageProblem(err: unknown): string | undefined {
  if (err instanceof StorageError) return err.message;
  if (err instanceof Error && unreachable.has(err)) return err.message;
  return undefined;
}

const CREDENTIALS_FIX =
  'check the credentials the AWS SDK finds (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ' +
  'or an instance or container role) and that they may read, write, list and delete under';

/**
 * Sorts a failed S3 call into the storage error contract: a `StorageError` with the fix for what a
 * user must change (missing object or bucket, refused credentials, wrong region, a request the
 * server rejects), the original error for what may pass (network, 5xx, throttling), so that an
 * activity retries it. An unreachable endpoint stays retryable but its message names the endpoint.
 * Refused-credential errors drop their cause: the SDK's copy may carry the access key id.
 */
export function s3Failure(err: unknown, ctx: S3ErrorContext, missingIsError = true): Error {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const server = ctx.endpoint;
  // A HEAD answer has no body, so the SDK names its error "Unknown": the status says more.
  const label = name && name !== 'Unknown' && name !== 'UnknownError' ? name : `HTTP ${status ?? '?'}`;
  if (name === 'NoSuchKey' || (name === 'NotFound' && missingIsError)) {
    return new StorageError(`"${ctx.uri}" does not exist (bucket ${ctx.bucket} at ${server})`, ctx.uri, { cause: err });
  }
  if (name === 'NoSuchBucket') {
    return new StorageError(
      `bucket "${ctx.bucket}" does not exist at ${server}; create it (e.g. \`aws s3 mb s3://${ctx.bucket}\`) ` +
        `or fix the bucket in the storage root ${ctx.rootUri}`,
      ctx.uri,
      { cause: err },
    );
  }
  if (AUTH.has(name) || status === 403) {
    return new StorageError(
      `access to bucket "${ctx.bucket}" at ${server} was refused (${label}); ` + `${CREDENTIALS_FIX} ${ctx.rootUri}`,
      ctx.uri,
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? '')) {
    return new StorageError(
      `no AWS credentials were found for ${ctx.rootUri}; ${CREDENTIALS_FIX} ${ctx.rootUri}`,
      ctx.uri,
    );
  }
  if (REGION.has(name) || /region is missing/i.test(e.message ?? '')) {
    return new StorageError(
      `bucket "${ctx.bucket}" at ${server} needs another region (${name || 'no region configured'}: ${firstLine(e.message)}); ` +
        `set AWS_REGION (or ?region= on the storage root) to the bucket's region`,
      ctx.uri,
      { cause: err },
    );
  }
  if (e.code && UNREACHABLE.has(e.code) && err instanceof Error) {
    // Still the original error (a server that is down comes back): only the message gains the fix.
    if (!unreachable.has(err)) {
      const original = err.message;
      err.message = `S3 endpoint ${server} is unreachable (${e.code}: ${firstLine(original)}); check OPENAI_BATCH_S3_ENDPOINT or ?endpoint= on the storage root ${ctx.rootUri}`;
      if (err.stack?.includes(original)) err.stack = err.stack.replace(original, err.message);
      unreachable.add(err);
    }
    return err;
  }
  if (status !== undefined && status >= 400 && status < 500 && !TRANSIENT_STATUS.has(status)) {
    return new StorageError(
      `S3 at ${server} rejected a request for "${ctx.uri}" (${label}, HTTP ${status}: ${firstLine(e.message)}); ` +
        'check that the endpoint is an S3 server and the storage root is right',
      ctx.uri,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

function firstLine(message: string | undefined): string {
  return (message ?? '').split('\n')[0] ?? '';
}
