import { Context } from '@temporalio/activity';

/** Heavy activities a worker runs at once when nothing else is configured. */
export const DEFAULT_HEAVY_ACTIVITY_SLOTS = 2;

/**
 * A heavy-slot count from the plugin's option or the environment: one rule and one message,
 * naming where the value came from (`source`) and what was given (`shown`: the variable's text).
 */
export function heavySlotCount(slots: number, source = 'heavyActivitySlots', shown = String(slots)): number {
  if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 0)
    throw new RangeError(`${source} must be a whole number (0: no limit), got ${shown}`);
  return slots;
}

/**
 * A worker's memory budget for its heavy activities: the ones that stream a whole chunk or job
 * through the worker (plan, upload, collect, finalize). Each holds its own buffers (read and
 * write blocks, the HTTP body in flight, the reconcile index of a chunk), so ten collects at once
 * take ten times the memory of one. At most `limit` of them run at a time; the others wait in
 * arrival order.
 *
 * A waiting activity heartbeats (with its attempt's inherited details, so an upload's resumable
 * progress is not lost), so its heartbeat timeout never fires while it waits and a cancellation
 * reaches it; a cancelled (or shut-down) activity stops waiting at once and takes no slot. A slot is
 * always given back when the work ends, however it ends. `limit` 0 means no limit.
 */
export class HeavySlots {
  readonly limit: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number = DEFAULT_HEAVY_ACTIVITY_SLOTS) {
    this.limit = heavySlotCount(limit);
  }

  /** Activities running in a slot now. */
  get busy(): number {
    return this.#busy;
  }

  /** Activities waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Wraps an activity so that each execution runs in a slot. */
  wrap<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => await this.run(() => activity(...args));
  }

  /** Runs `work` once a slot is free (inside an activity), and frees the slot when it ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.limit === 0) return await work();
    await this.#acquire();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    if (this.#busy < this.limit) {
      this.#busy++;
      return;
    }
    const context = Context.current();
    const signal = context.cancellationSignal;
    if (signal.aborted) throw signal.reason;
    const details: unknown = context.info.heartbeatDetails;
    const everyMs = Math.max(200, Math.min(1_000, (context.info.heartbeatTimeoutMs ?? 3_000) / 3));
    let grant!: () => void;
    const granted = new Promise<void>((resolve) => (grant = resolve));
    this.#waiting.push(grant);
    const beat = (): void => context.heartbeat(details);
    beat();
    const timer = setInterval(beat, everyMs);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // A grant hands the slot over (`#busy` unchanged); an abort leaves the queue first.
      await Promise.race([granted, aborted]);
    } catch (err) {
      const at = this.#waiting.indexOf(grant);
      if (at >= 0) this.#waiting.splice(at, 1);
      else this.#release(); // granted in the same tick as the abort: give the slot on
      throw err;
    } finally {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#busy--;
  }
}
