import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { cacheDir } from './cache-dir.ts';

/**
 * The MinIO server the tests and the compose file use, built from the Go module proxy. Its
 * repository is archived upstream, so the version is pinned to the newest pseudo-version served.
 * MinIO is AGPL: it runs as a separate server binary and is never linked or vendored.
 */
export const MINIO_GO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const GO_PACKAGE = 'github.com/minio/minio';

/** Where a usable `minio` binary came from. */
export type S3ServerSource = 'explicit' | 'path' | 'cache' | 'go-build';

/** A `minio` server binary found on this machine. */
export interface S3ServerBinary {
  readonly path: string;
  readonly source: S3ServerSource;
}

/** Options for {@link findS3Server}. */
export interface FindS3ServerOptions {
  /** An explicit binary; wins over everything else. @default process.env.OPENAI_BATCH_MINIO_PATH */
  readonly explicitPath?: string | undefined;
  /** Build with Go when nothing else is found. @default true */
  readonly allowGoBuild?: boolean;
  /** Receives one line per step, e.g. to tell a user that a multi-minute build started. */
  readonly onProgress?: (line: string) => void;
}

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

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The cached binary's location; a Go build writes it here. */
export function cachedS3ServerPath(): string {
  return join(cacheDir(), 'bin', 'minio');
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ code: null, output: String(err) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function goBuild(onProgress: (line: string) => void): Promise<{ path?: string; why?: string }> {
  const go = await onPath('go');
  if (!go) return { why: 'go build: `go` is not on PATH' };
  const binDir = join(cacheDir(), 'bin');
  await mkdir(binDir, { recursive: true });
  onProgress(
    `building MinIO with Go (${GO_PACKAGE}@${MINIO_GO_VERSION}) into ${binDir}; ` +
      'this takes several minutes once (about 15 on 2 cores)',
  );
  const { code, output } = await run(go, ['install', `${GO_PACKAGE}@${MINIO_GO_VERSION}`], {
    ...process.env,
    GOBIN: binDir,
    CGO_ENABLED: '0',
  });
  const built = cachedS3ServerPath();
  if (code === 0 && (await isExecutable(built))) return { path: built };
  return { why: `go build: exit ${String(code)}: ${output.trim().split('\n').slice(-3).join(' | ')}` };
}

/**
 * Finds a `minio` binary the way {@link findTemporalCli} finds `temporal`: an explicit path, then
 * PATH, then the cache, then a Go build into the cache. Throws {@link S3ServerNotFoundError} naming
 * every step that failed.
 */
export async function findS3Server(options: FindS3ServerOptions = {}): Promise<S3ServerBinary> {
  const attempts: string[] = [];
  const explicit = options.explicitPath ?? process.env['OPENAI_BATCH_MINIO_PATH'];
  if (explicit) {
    if (await isExecutable(explicit)) return { path: explicit, source: 'explicit' };
    attempts.push(`explicit path ${explicit}: not an executable file`);
  } else {
    attempts.push('explicit path: none given (option or OPENAI_BATCH_MINIO_PATH)');
  }
  const fromPath = await onPath('minio');
  if (fromPath) return { path: fromPath, source: 'path' };
  attempts.push('`minio` on PATH: not found');
  const cached = cachedS3ServerPath();
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  attempts.push(`cache ${cached}: not there`);
  if (options.allowGoBuild === false) {
    attempts.push('go build: disabled by option');
  } else {
    const built = await goBuild(options.onProgress ?? (() => undefined));
    if (built.path) return { path: built.path, source: 'go-build' };
    attempts.push(built.why ?? 'go build: failed');
  }
  throw new S3ServerNotFoundError(attempts);
}
