import type { BatchEngine } from '../lifecycle/batch-engine.ts';
import { hashUnit } from '../seeded-random.ts';
import type { StateStore } from '../state/state-store.ts';
import { newEventId, newWebhookId, signDelivery } from './sign-event.ts';
import type { WebhookConfig } from './webhook-config.ts';

/** One event the emulator raised for a batch that ended, and what became of its deliveries. */
export interface WebhookEventRecord {
  readonly eventId: string;
  readonly webhookId: string;
  readonly batchId: string;
  readonly type: string;
  /** When the emulator first showed the batch in its terminal state (epoch ms, within ~50 ms). */
  readonly endedAtMs: number;
  /** Set when the `lostRate` knob dropped it: never sent. */
  lost: boolean;
  /** Sent twice by the `duplicateRate` knob. */
  duplicated: boolean;
  /** Every attempt, in order: when, and the HTTP status (0: no answer). */
  readonly attempts: { atMs: number; status: number }[];
  /** When a copy of it was first answered 2xx. */
  deliveredAtMs: number | null;
}

/** Counters of the emulator's webhook deliveries (`RunningEmulator.webhooks()`). */
export interface WebhookStats {
  eventsRaised: number;
  attempts: number;
  delivered: number;
  /** Attempts answered non-2xx or not at all. */
  failedAttempts: number;
  retries: number;
  lost: number;
  duplicatesSent: number;
  /** Deliveries that used up their retries without a 2xx. */
  abandoned: number;
  events: WebhookEventRecord[];
}

const END_EVENTS: Record<string, string> = {
  completed: 'batch.completed',
  failed: 'batch.failed',
  expired: 'batch.expired',
  cancelled: 'batch.cancelled',
};

/**
 * Watches for batches that reach a terminal state and POSTs OpenAI's `batch.*` event for each to
 * the configured URL, signed, with the configured faults (duplicates, delays, reordering, losses)
 * and retries on non-2xx. Batches already ended when it starts raise no event.
 */
export class WebhookNotifier {
  readonly #store: StateStore;
  readonly #engine: BatchEngine;
  readonly #config: () => { seed: number; webhooks: WebhookConfig };
  readonly #raised = new Set<string>();
  readonly #events: WebhookEventRecord[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #reorder: { record: WebhookEventRecord; copies: number }[] = [];
  #reorderTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #stats = { attempts: 0, delivered: 0, failedAttempts: 0, retries: 0, abandoned: 0 };

  constructor(store: StateStore, engine: BatchEngine, config: () => { seed: number; webhooks: WebhookConfig }) {
    this.#store = store;
    this.#engine = engine;
    this.#config = config;
    const now = Date.now();
    for (const record of store.batches.values()) if (engine.moment(record, now).terminal) this.#raised.add(record.id);
  }

  /** Raises an event for every batch newly shown terminal; called on a short timer. */
  check(now = Date.now()): void {
    if (this.#stopped) return;
    for (const record of this.#store.batches.values()) {
      if (this.#raised.has(record.id)) continue;
      const moment = this.#engine.moment(record, now);
      // `moment` shows a batch whose files are still being written as not yet ended.
      if (!moment.terminal || moment.status !== moment.terminal.status) continue;
      this.#raised.add(record.id);
      this.#raise(record.id, END_EVENTS[moment.status] ?? `batch.${moment.status}`, now);
    }
  }

  stats(): WebhookStats {
    return {
      eventsRaised: this.#events.length,
      ...this.#stats,
      lost: this.#events.filter((e) => e.lost).length,
      duplicatesSent: this.#events.filter((e) => e.duplicated).length,
      events: structuredClone(this.#events),
    };
  }

  /** Stops sending and waits for attempts in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#reorderTimer) clearTimeout(this.#reorderTimer);
    await Promise.allSettled([...this.#pending]);
  }

  #raise(batchId: string, type: string, now: number): void {
    const { seed, webhooks } = this.#config();
    const record: WebhookEventRecord = {
      eventId: newEventId(),
      webhookId: newWebhookId(),
      batchId,
      type,
      endedAtMs: now,
      lost: false,
      duplicated: false,
      attempts: [],
      deliveredAtMs: null,
    };
    this.#events.push(record);
    if (!webhooks.url) return;
    if (hashUnit(seed, 'webhook-lost', batchId) < webhooks.lostRate) {
      record.lost = true;
      return;
    }
    const copies = hashUnit(seed, 'webhook-duplicate', batchId) < webhooks.duplicateRate ? 2 : 1;
    record.duplicated = copies === 2;
    const delay = hashUnit(seed, 'webhook-delay', batchId) < webhooks.delayRate ? webhooks.delayMs : 0;
    const due = (): void => {
      if (webhooks.reorderWindowMs > 0) this.#queueReordered(record, copies, webhooks.reorderWindowMs);
      else this.#sendCopies(record, copies);
    };
    if (delay > 0) this.#later(delay, due);
    else due();
  }

  /** Holds events for the window, then sends them newest first. */
  #queueReordered(record: WebhookEventRecord, copies: number, windowMs: number): void {
    this.#reorder.push({ record, copies });
    this.#reorderTimer ??= setTimeout(() => {
      this.#reorderTimer = undefined;
      const held = this.#reorder.reverse();
      this.#reorder = [];
      for (const { record: r, copies: n } of held) this.#sendCopies(r, n);
    }, windowMs);
  }

  #sendCopies(record: WebhookEventRecord, copies: number): void {
    for (let i = 0; i < copies; i++) this.#track(this.#deliver(record, 0));
  }

  async #deliver(record: WebhookEventRecord, retry: number): Promise<void> {
    if (this.#stopped) return;
    const { url, secret, timeoutMs, retryDelaysMs } = this.#config().webhooks;
    if (!url) return;
    const body = JSON.stringify({
      id: record.eventId,
      object: 'event',
      created_at: Math.floor(record.endedAtMs / 1000),
      type: record.type,
      data: { id: record.batchId },
    });
    const atMs = Date.now();
    let status = 0;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: signDelivery(secret, record.webhookId, body, atMs),
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      await response.body?.cancel();
    } catch {
      // No answer (refused, reset, timed out): status stays 0.
    }
    this.#stats.attempts += 1;
    record.attempts.push({ atMs, status });
    if (status >= 200 && status < 300) {
      this.#stats.delivered += 1;
      record.deliveredAtMs ??= Date.now();
      return;
    }
    this.#stats.failedAttempts += 1;
    const wait = retryDelaysMs[retry];
    if (wait === undefined) {
      this.#stats.abandoned += 1;
      return;
    }
    this.#stats.retries += 1;
    this.#later(wait, () => this.#track(this.#deliver(record, retry + 1)));
  }

  #later(ms: number, run: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }
}
