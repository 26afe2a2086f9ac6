/** What {@link SeenDeliveries.claim} found for a `webhook-id`. */
export type DeliveryClaim = 'claimed' | 'in_flight' | 'done';

/**
 * The `webhook-id`s handled recently, so that a redelivery (OpenAI delivers at least once) or a
 * replayed request is answered without doing the work twice. Kept at least as long as a signed
 * timestamp stays acceptable: after that the signature check refuses the replay anyway.
 *
 * Every entry lives the same `ttlMs`, so the insertion order of the map is the order of expiry:
 * each call forgets the expired entries at its front, and each entry is forgotten once, so the
 * cost per delivery stays constant (amortised) however many are remembered.
 */
export class SeenDeliveries {
  /** Handled ids, oldest first, with when each may be handled again (epoch ms). */
  readonly #doneUntil = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 100_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  /**
   * `claimed`: `id` is new, and now marked in flight. `in_flight`: another attempt with this id is
   * being handled (it may still fail). `done`: it was handled within the window.
   */
  claim(id: string, now = Date.now()): DeliveryClaim {
    this.#prune(now);
    if (this.#inFlight.has(id)) return 'in_flight';
    if (this.#doneUntil.has(id)) return 'done';
    this.#inFlight.add(id);
    return 'claimed';
  }

  /** The delivery was handled: redeliveries are duplicates from now on. */
  done(id: string, now = Date.now()): void {
    this.#inFlight.delete(id);
    // Re-inserted at the back, so that the map stays in expiry order.
    this.#doneUntil.delete(id);
    this.#doneUntil.set(id, now + this.#ttlMs);
    this.#prune(now);
  }

  /** The delivery failed (answered 5xx): OpenAI's retry must be handled again. */
  release(id: string): void {
    this.#inFlight.delete(id);
  }

  /** Ids remembered as handled (expired ones are forgotten at the next call). */
  get size(): number {
    return this.#doneUntil.size;
  }

  /** Forgets, from the front, what expired, and the oldest beyond `max` (a flood within the window). */
  #prune(now: number): void {
    for (const [id, until] of this.#doneUntil) {
      if (until > now && this.#doneUntil.size <= this.#max) break;
      this.#doneUntil.delete(id);
    }
  }
}
