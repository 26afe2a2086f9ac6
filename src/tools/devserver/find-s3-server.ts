import {
  type BinarySource,
  cachedBinaryPath,
  type FindBinaryOptions,
  findGoBinary,
  type GoBinarySpec,
} from './find-go-binary.ts';

/**
 * The MinIO server the tests and the compose file use, built from the Go module proxy. Its
 * repository is archived upstream, so the version is pinned to the newest pseudo-version served.
 * MinIO is AGPL: it runs as a separate server binary and is never linked or vendored.
 */
export const MINIO_GO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const GO_PACKAGE = 'github.com/minio/minio';

/** Where a usable `minio` binary came from. */
export type S3ServerSource = BinarySource;

/** A `minio` server binary found on this machine. */
export interface S3ServerBinary {
  readonly path: string;
  readonly source: S3ServerSource;
}

/** Options for {@link findS3Server}: `explicitPath` defaults to `OPENAI_BATCH_MINIO_PATH`. */
export type FindS3ServerOptions = FindBinaryOptions;

/** Thrown when no step found or produced a binary; `attempts` lists what was tried and why it failed. */
export class S3ServerNotFoundError extends Error {
  readonly attempts: readonly string[];
  constructor(attempts: readonly string[]) {
    super(
      'No MinIO server binary could be found or built. Tried:\n' +
        attempts.map((a) => `  - ${a}`).join('\n') +
        '\nFix: set OPENAI_BATCH_MINIO_PATH to a `minio` binary, put `minio` on PATH, or install Go >= 1.24 ' +
        `(then \`go install ${GO_PACKAGE}@${MINIO_GO_VERSION}\` is run for you).`,
    );
    this.name = 'S3ServerNotFoundError';
    this.attempts = attempts;
  }
}

/** The cached binary's location; a Go build writes it here. */
export function cachedS3ServerPath(): string {
  return cachedBinaryPath('minio');
}

const SPEC: GoBinarySpec = {
  name: 'minio',
  envVar: 'OPENAI_BATCH_MINIO_PATH',
  goPackage: GO_PACKAGE,
  version: MINIO_GO_VERSION,
  buildNotice: (binDir) =>
    `building MinIO with Go (${GO_PACKAGE}@${MINIO_GO_VERSION}) into ${binDir}; ` +
    'this takes several minutes once (about 10 on 2 cores)',
};

/**
 * Finds a `minio` binary the way {@link findTemporalCli} finds `temporal`: an explicit path, then
 * PATH, then the cache, then a Go build into the cache. Throws {@link S3ServerNotFoundError} naming
 * every step that failed.
 */
export async function findS3Server(options: FindS3ServerOptions = {}): Promise<S3ServerBinary> {
  const found = await findGoBinary(SPEC, options);
  if ('path' in found) return found;
  throw new S3ServerNotFoundError(found.attempts);
}
