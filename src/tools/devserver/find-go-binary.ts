// The one way the project finds a server binary it can build from the Go module proxy (the Temporal
// CLI, MinIO): an explicit path, then PATH, then the cache, then `go install` into the cache.
import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { withBuildLock } from './build-lock.ts';
import { cacheDir } from './cache-dir.ts';

/** Where a usable binary came from. */
export type BinarySource = 'explicit' | 'path' | 'cache' | 'go-build';

/** What to look for. */
export interface GoBinarySpec {
  /** The executable's name, on PATH and in the cache (`temporal`, `minio`). */
  readonly name: string;
  /** The environment variable naming an explicit binary. */
  readonly envVar: string;
  /** `go install <goPackage>@<version>` builds it. */
  readonly goPackage: string;
  readonly version: string;
  /** The one line announcing a build (it takes minutes). */
  readonly buildNotice: (binDir: string) => string;
}

/** Options of a find. */
export interface FindBinaryOptions {
  /** An explicit binary; wins over everything else. @default process.env[spec.envVar] */
  readonly explicitPath?: string | undefined;
  /** Build with Go when nothing else is found. @default true */
  readonly allowGoBuild?: boolean;
  /** Receives one line per step, e.g. to tell a user that a multi-minute build started. */
  readonly onProgress?: (line: string) => void;
}

/** The binary found, or every step tried and why it failed (for the caller's error). */
export type FindBinaryOutcome =
  { readonly path: string; readonly source: BinarySource } | { readonly attempts: readonly string[] };

/** The cached binary's location; a Go build writes it here. */
export function cachedBinaryPath(name: string): string {
  return join(cacheDir(), 'bin', name);
}

export async function findGoBinary(spec: GoBinarySpec, options: FindBinaryOptions = {}): Promise<FindBinaryOutcome> {
  const attempts: string[] = [];
  const explicit = options.explicitPath ?? process.env[spec.envVar];
  if (explicit) {
    if (await isExecutable(explicit)) return { path: explicit, source: 'explicit' };
    attempts.push(`explicit path ${explicit}: not an executable file`);
  } else {
    attempts.push(`explicit path: none given (option or ${spec.envVar})`);
  }
  const fromPath = await onPath(spec.name);
  if (fromPath) return { path: fromPath, source: 'path' };
  attempts.push(`\`${spec.name}\` on PATH: not found`);
  const cached = cachedBinaryPath(spec.name);
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };
  attempts.push(`cache ${cached}: not there`);
  if (options.allowGoBuild === false) {
    attempts.push('go build: disabled by option');
  } else {
    const built = await goBuild(spec, options.onProgress ?? (() => undefined));
    if (built.path) return { path: built.path, source: 'go-build' };
    attempts.push(built.why ?? 'go build: failed');
  }
  return { attempts };
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

async function goBuild(
  spec: GoBinarySpec,
  onProgress: (line: string) => void,
): Promise<{ path?: string; why?: string }> {
  const go = await onPath('go');
  if (!go) return { why: 'go build: `go` is not on PATH' };
  const binDir = join(cacheDir(), 'bin');
  await mkdir(binDir, { recursive: true });
  const built = cachedBinaryPath(spec.name);
  const there = async () => ((await isExecutable(built)) ? { path: built } : undefined);
  return await withBuildLock<{ path?: string; why?: string }>(
    join(binDir, `.${spec.name}.building`),
    there,
    async () => {
      onProgress(spec.buildNotice(binDir));
      const { code, output } = await run(go, ['install', `${spec.goPackage}@${spec.version}`], {
        ...process.env,
        GOBIN: binDir,
        CGO_ENABLED: '0',
      });
      if (code === 0 && (await isExecutable(built))) return { path: built };
      return { why: `go build: exit ${String(code)}: ${output.trim().split('\n').slice(-3).join(' | ')}` };
    },
    (pid) => onProgress(`another process (pid ${pid}) is building ${spec.name} into ${binDir}; waiting for it`),
  );
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
