import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { cacheDir } from './cache-dir.ts';

/** The newest temporalio/cli tag whose go.mod has no `replace` directive, so `go install` accepts it. */
export const TEMPORAL_CLI_GO_VERSION = 'v1.5.1';
const GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';

/** Where a usable `temporal` binary came from. */
export type TemporalCliSource = 'explicit' | 'path' | 'cache' | 'go-build';

/** A `temporal` CLI binary found on this machine. */
export interface TemporalCli {
  readonly path: string;
  readonly source: TemporalCliSource;
}

/** Options for {@link findTemporalCli}. */
export interface FindTemporalCliOptions {
  /** An explicit binary; wins over everything else. @default process.env.TEMPORAL_CLI_PATH */
  readonly explicitPath?: string | undefined;
  /** Build with Go when nothing else is found. @default true */
  readonly allowGoBuild?: boolean;
  /** Receives one line per step, e.g. to tell a user that a multi-minute build started. */
  readonly onProgress?: (line: string) => void;
}

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
export function cachedTemporalCliPath(): string {
  return join(cacheDir(), 'bin', 'temporal');
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      // Keep only the tail: a failed build's last lines say why.
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
  onProgress(goBuildNotice(binDir));
  const { code, output } = await run(go, ['install', `${GO_PACKAGE}@${TEMPORAL_CLI_GO_VERSION}`], {
    ...process.env,
    GOBIN: binDir,
    CGO_ENABLED: '0',
  });
  const built = cachedTemporalCliPath();
  if (code === 0 && (await isExecutable(built))) return { path: built };
  return { why: `go build: exit ${String(code)}: ${output.trim().split('\n').slice(-3).join(' | ')}` };
}

function goBuildNotice(binDir: string): string {
  return (
    `building the Temporal CLI with Go (${GO_PACKAGE}@${TEMPORAL_CLI_GO_VERSION}) into ${binDir}; ` +
    'this takes a few minutes once'
  );
}

/**
 * Finds a `temporal` CLI binary: an explicit path, then `temporal` on PATH, then the cache, then a
 * Go build into the cache. Throws {@link TemporalCliNotFoundError} naming every step that failed.
 * The SDK's own download is the caller's last resort (see `startDevServer`), since it is not a file
 * we can hand out.
 */
export async function findTemporalCli(options: FindTemporalCliOptions = {}): Promise<TemporalCli> {
  const attempts: string[] = [];
  const explicit = options.explicitPath ?? process.env['TEMPORAL_CLI_PATH'];
  if (explicit) {
    if (await isExecutable(explicit)) return { path: explicit, source: 'explicit' };
    attempts.push(`explicit path ${explicit}: not an executable file`);
  } else {
    attempts.push('explicit path: none given (option or TEMPORAL_CLI_PATH)');
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'path' };
  attempts.push('`temporal` on PATH: not found');
  const cached = cachedTemporalCliPath();
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  attempts.push(`cache ${cached}: not there`);
  if (options.allowGoBuild === false) {
    attempts.push('go build: disabled by option');
  } else {
    const built = await goBuild(options.onProgress ?? (() => undefined));
    if (built.path) return { path: built.path, source: 'go-build' };
    attempts.push(built.why ?? 'go build: failed');
  }
  throw new TemporalCliNotFoundError(attempts);
}
