// Worker processes the chaos run kills and restarts; it tells its own kills from other exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CrashPoint } from '../../activities/crash-point.ts';

export interface WorkerSettings {
  readonly temporalAddress: () => string;
  readonly taskQueue: string;
  readonly storageRoot: string;
  readonly openaiBaseUrl: () => string;
  readonly apiKey: string;
  readonly bundlePath: string;
}

interface Running {
  readonly id: number;
  readonly child: ChildProcess;
  readonly crashPoint: CrashPoint | undefined;
  killedByUs: boolean;
  output: string;
}

export interface WorkerCounts {
  started: number;
  /** SIGKILLs the runner sent. */
  killed: number;
  /** Workers that SIGKILLed themselves at a crash point. */
  crashedAtPoint: number;
  /** Exits the runner did not cause (a worker giving up on a lost server, an error). */
  unexpectedExits: number;
  unexpectedExitLines: string[];
}

const workerPath = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));

/** Keeps `size` plain workers running (restarting any that ends), plus crash-point workers on demand. */
export class WorkerPool {
  readonly #settings: WorkerSettings;
  readonly #size: number;
  readonly #running = new Map<number, Running>();
  readonly #logs: string[] = [];
  #nextId = 1;
  #closing = false;
  #paused = 0;
  readonly counts: WorkerCounts = {
    started: 0,
    killed: 0,
    crashedAtPoint: 0,
    unexpectedExits: 0,
    unexpectedExitLines: [],
  };

  constructor(settings: WorkerSettings, size: number) {
    this.#settings = settings;
    this.#size = size;
  }

  /** Every worker's output so far (the checks look for the API key in it). */
  logs(): string {
    return [...this.#logs, ...[...this.#running.values()].map((r) => r.output)].join('\n');
  }

  start(): void {
    for (let i = 0; i < this.#size; i++) this.#spawn(undefined);
  }

  /** Starts one extra worker that dies at `point`; it is not replaced. */
  spawnCrashing(point: CrashPoint): void {
    this.#spawn(point);
  }

  /** SIGKILLs one random plain worker (or all workers); replacements start after `restartAfterMs`. */
  kill(which: 'one' | 'all', restartAfterMs: number, pick: () => number): number {
    const all = [...this.#running.values()];
    const plain = all.filter((r) => r.crashPoint === undefined);
    const victims = which === 'all' ? all : plain.length ? [plain[Math.floor(pick() * plain.length)]!] : [];
    this.#paused++;
    for (const v of victims) {
      v.killedByUs = true;
      v.child.kill('SIGKILL');
      this.counts.killed++;
    }
    setTimeout(() => {
      this.#paused--;
      this.#refill();
    }, restartAfterMs).unref();
    return victims.length;
  }

  /** SIGKILLs every worker and waits for them to exit (before a server restart, or at the end). */
  async stopAll(): Promise<void> {
    this.#closing = true;
    const exits = [...this.#running.values()].map((r) => {
      r.killedByUs = true;
      const exited = new Promise<void>((resolve) =>
        r.child.exitCode !== null || r.child.signalCode !== null ? resolve() : r.child.once('exit', () => resolve()),
      );
      r.child.kill('SIGKILL');
      return exited;
    });
    await Promise.all(exits);
  }

  #plainCount(): number {
    return [...this.#running.values()].filter((r) => r.crashPoint === undefined).length;
  }

  #refill(): void {
    if (this.#closing || this.#paused > 0) return;
    while (this.#plainCount() < this.#size) this.#spawn(undefined);
  }

  #spawn(crashPoint: CrashPoint | undefined): void {
    const s = this.#settings;
    const child = spawn(process.execPath, [workerPath], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        TEMPORAL_ADDRESS: s.temporalAddress(),
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
        OPENAI_BATCH_TASK_QUEUE: s.taskQueue,
        OPENAI_BATCH_STORAGE_ROOT: s.storageRoot,
        OPENAI_BASE_URL: s.openaiBaseUrl(),
        OPENAI_API_KEY: s.apiKey,
        CHAOS_WORKFLOW_BUNDLE: s.bundlePath,
        ...(crashPoint ? { OPENAI_BATCH_TEST_CRASH_AT: crashPoint } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const entry: Running = { id: this.#nextId++, child, crashPoint, killedByUs: false, output: '' };
    const keep = (d: Buffer): void => {
      entry.output += d.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#running.set(entry.id, entry);
    this.counts.started++;
    child.once('exit', (code, signal) => {
      this.#running.delete(entry.id);
      this.#logs.push(entry.output);
      if (!entry.killedByUs) {
        if (crashPoint && signal === 'SIGKILL') this.counts.crashedAtPoint++;
        else if (!this.#closing) {
          this.counts.unexpectedExits++;
          const last = entry.output.trim().split('\n').slice(-3).join(' | ').slice(0, 300);
          this.counts.unexpectedExitLines.push(`worker ${entry.id} exited (${code ?? signal}): ${last}`);
        }
      }
      if (crashPoint === undefined) setTimeout(() => this.#refill(), 500).unref();
    });
  }
}
