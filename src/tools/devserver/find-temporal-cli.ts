import {
  type BinarySource,
  cachedBinaryPath,
  type FindBinaryOptions,
  findGoBinary,
  type GoBinarySpec,
} from './find-go-binary.ts';

/** The newest temporalio/cli tag whose go.mod has no `replace` directive, so `go install` accepts it. */
export const TEMPORAL_CLI_GO_VERSION = 'v1.5.1';
const GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';

/** Where a usable `temporal` binary came from. */
export type TemporalCliSource = BinarySource;

/** A `temporal` CLI binary found on this machine. */
export interface TemporalCli {
  readonly path: string;
  readonly source: TemporalCliSource;
}

/** Options for {@link findTemporalCli}: `explicitPath` defaults to `TEMPORAL_CLI_PATH`. */
export type FindTemporalCliOptions = FindBinaryOptions;

/** Thrown when no step found or produced a binary; `attempts` lists what was tried and why it failed. */
export class TemporalCliNotFoundError extends Error {
  readonly attempts: readonly string[];
  constructor(attempts: readonly string[]) {
    super(
      'No Temporal CLI binary could be found or built. Tried:\n' +
        attempts.map((a) => `  - ${a}`).join('\n') +
        '\nFix: set TEMPORAL_CLI_PATH to a `temporal` binary, put `temporal` on PATH, install Go >= 1.25 ' +
        `(then \`go install ${GO_PACKAGE}@${TEMPORAL_CLI_GO_VERSION}\` is run for you), ` +
        'or set TEMPORAL_ADDRESS to use an existing server.',
    );
    this.name = 'TemporalCliNotFoundError';
    this.attempts = attempts;
  }
}

/** The cached binary's location; a Go build writes it here. */
export function cachedTemporalCliPath(): string {
  return cachedBinaryPath('temporal');
}

const SPEC: GoBinarySpec = {
  name: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  goPackage: GO_PACKAGE,
  version: TEMPORAL_CLI_GO_VERSION,
  buildNotice: (binDir) =>
    `building the Temporal CLI with Go (${GO_PACKAGE}@${TEMPORAL_CLI_GO_VERSION}) into ${binDir}; ` +
    'this takes a few minutes once',
};

/**
 * Finds a `temporal` CLI binary: an explicit path, then `temporal` on PATH, then the cache, then a
 * Go build into the cache. Throws {@link TemporalCliNotFoundError} naming every step that failed.
 * The SDK's own download is the caller's last resort (see `startDevServer`), since it is not a file
 * we can hand out.
 */
export async function findTemporalCli(options: FindTemporalCliOptions = {}): Promise<TemporalCli> {
  const found = await findGoBinary(SPEC, options);
  if ('path' in found) return found;
  throw new TemporalCliNotFoundError(found.attempts);
}
