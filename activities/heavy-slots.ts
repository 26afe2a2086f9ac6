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
 * How many slots each heavy step takes. An upload only reads its chunk file and streams it out
 * (64 KiB reads, no copy kept by fetch), so two of them together cost little more than one
 * (worker-rss bench, session 12). Plan, collect and finalize read, parse and write at once and
 * leave garbage that V8 frees only at its next mark-compact: two of them side by side, or one
 * beside an upload, set the peaks of a 2-slot worker (387-397 MB at 1M requests against 326 MB
 * when nothing overlapped). So with the default 2 slots, two uploads run together and every other
 * heavy step runs alone. A step never takes more slots than the worker has.
 */
export const HEAVY_STEP_SLOTS = {
  planJob: 2,
  planRetryRound: 2,
  collectChunk: 2,
  collectNotSubmitted: 2,
  finalizeJob: 2,
  uploadChunk: 1,
} as const;

/**
 * A worker's memory budget for its heavy activities: the ones that stream a whole chunk or job
 * through the worker (plan, upload, collect, finalize). Each holds its own buffers (read and
 * write blocks, the HTTP body in flight, the reconcile index of a chunk), so ten collects at once
 * take ten times the memory of one. The budget is `limit` slots; an activity takes the slots its
 * step is worth (`HEAVY_STEP_SLOTS`, at most `limit`) and the others wait in arrival order: one
 * that needs more slots than are free is not overtaken by a smaller one behind it, so it never
 * starves.
 *
 * A waiting activity heartbeats (with its attempt's inherited details, so an upload's resumable
 * progress is not lost), so its heartbeat timeout never fires while it waits and a cancellation
 * reaches it; a cancelled (or shut-down) activity stops waiting at once and takes no slot. Slots are
 * always given back when the work ends, however it ends. `limit` 0 means no limit.
 */
export class HeavySlots {
  readonly limit: number;
  #busy = 0;
  readonly #waiting: { readonly slots: number; readonly grant: () => void }[] = [];

  constructor(limit: number = DEFAULT_HEAVY_ACTIVITY_SLOTS) {
    this.limit = heavySlotCount(limit);
  }

  /** Slots taken now. */
  get busy(): number {
    return this.#busy;
  }

  /** Activities waiting for slots now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Wraps an activity so that each execution runs in `slots` slots (at most `limit`). */
  wrap<A extends unknown[], R>(activity: (...args: A) => Promise<R>, slots = 1): (...args: A) => Promise<R> {
    return async (...args: A) => await this.run(() => activity(...args), slots);
  }

  /** Runs `work` once `slots` slots (at most `limit`) are free (inside an activity), and frees them when it ends. */
  async run<T>(work: () => Promise<T>, slots = 1): Promise<T> {
    if (this.limit === 0) return await work();
    const taken = Math.max(1, Math.min(Math.floor(slots), this.limit));
    await this.#acquire(taken);
    try {
      return await work();
    } finally {
      this.#release(taken);
    }
  }

  async #acquire(slots: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#busy + slots <= this.limit) {
      this.#busy += slots;
      return;
    }
    const context = Context.current();
    const signal = context.cancellationSignal;
    if (signal.aborted) throw signal.reason;
    const details: unknown = context.info.heartbeatDetails;
    const everyMs = Math.max(200, Math.min(1_000, (context.info.heartbeatTimeoutMs ?? 3_000) / 3));
    let grant!: () => void;
    const granted = new Promise<void>((resolve) => (grant = resolve));
    const entry = { slots, grant };
    this.#waiting.push(entry);
    const beat = (): void => context.heartbeat(details);
    beat();
    const timer = setInterval(beat, everyMs);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // A grant has already counted this entry's slots as busy; an abort leaves the queue first.
      await Promise.race([granted, aborted]);
    } catch (err) {
      const at = this.#waiting.indexOf(entry);
      if (at >= 0) {
        this.#waiting.splice(at, 1);
        this.#grantWaiting(); // a larger entry leaving the head may let smaller ones behind it in
      } else this.#release(slots); // granted in the same tick as the abort: give the slots on
      throw err;
    } finally {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #release(slots: number): void {
    this.#busy -= slots;
    this.#grantWaiting();
  }

  /** Grants the waiting entries in arrival order while the head one fits. */
  #grantWaiting(): void {
    for (let head = this.#waiting[0]; head && this.#busy + head.slots <= this.limit; head = this.#waiting[0]) {
      this.#waiting.shift();
      this.#busy += head.slots;
      head.grant();
    }
  }
}
