import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { guardAgainstOrphan } from './orphan-guard.ts';
import { retryUntil } from './wait-until-ready.ts';

/** One readiness check: `what` names it in the error when it never passes. */
export interface ReadyCheck {
  readonly what: string;
  readonly check: () => Promise<unknown>;
}

/** What {@link startServerBinary} runs and how it knows the server is ready. */
export interface ServerBinarySpec {
  readonly path: string;
  readonly args: readonly string[];
  /** The child's whole environment. @default this process's */
  readonly env?: NodeJS.ProcessEnv;
  /** How an early exit is reported: `<name> exited (<code>) before it was ready`. */
  readonly name: string;
  /** Run in order; each retried until it passes, the deadline passes or the child dies. */
  readonly ready: readonly ReadyCheck[];
  readonly readyTimeoutMs: number;
  /** A temporary directory to remove once the server has stopped. */
  readonly removeOnStop?: string | undefined;
}

/** A started server binary. */
export interface ServerProcess {
  /** Stops the server and its process group (SIGTERM, SIGKILL after 10 s); safe to call twice. */
  readonly stop: () => Promise<void>;
}

function stopProcessGroup(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      resolve();
      return;
    }
    const pid = child.pid;
    const kill = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    kill('SIGTERM');
  });
}

/**
 * Spawns a server binary (the Temporal dev server, MinIO) in its own process group with a watchdog
 * that stops it if this process dies without calling `stop()`, and resolves once every readiness
 * check passes. If the server exits first or is not ready by the deadline, it is stopped and the
 * error quotes the end of its output.
 */
export async function startServerBinary(spec: ServerBinarySpec): Promise<ServerProcess> {
  const child = spawn(spec.path, [...spec.args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(spec.env ? { env: spec.env } : {}),
  });
  let tail = '';
  const keepTail = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-3000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  const stopGuard = child.pid !== undefined ? guardAgainstOrphan(child.pid) : () => undefined;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcessGroup(child, 10_000);
    stopGuard();
    if (spec.removeOnStop) await rm(spec.removeOnStop, { recursive: true, force: true });
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  const isDead = (): string | undefined => {
    if (spawnError) return `could not start ${spec.path}: ${spawnError.message}`;
    if (child.exitCode !== null || child.signalCode !== null) {
      return `${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; its last output:\n${tail}`;
    }
    return undefined;
  };
  try {
    for (const { what, check } of spec.ready) await retryUntil(what, check, { deadline, isDead });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
