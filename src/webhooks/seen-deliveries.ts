/**
 * The `webhook-id`s handled recently, so that a redelivery (OpenAI delivers at least once) or a
 * replayed request is answered without doing the work twice. Kept at least as long as a signed
 * timestamp stays acceptable: after that the signature check refuses the replay anyway.
 */
export class SeenDeliveries {
  readonly #expiresAt = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 100_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  /** Whether `id` was handled (or is being handled) already; if not, marks it in flight. */
  claim(id: string, now = Date.now()): boolean {
    const expires = this.#expiresAt.get(id);
    if (this.#inFlight.has(id) || (expires !== undefined && expires > now)) return false;
    this.#inFlight.add(id);
    return true;
  }

  /** The delivery was handled: redeliveries are duplicates from now on. */
  done(id: string, now = Date.now()): void {
    this.#inFlight.delete(id);
    this.#expiresAt.set(id, now + this.#ttlMs);
    if (this.#expiresAt.size > this.#max) this.#prune(now);
  }

  /** The delivery failed (answered 5xx): OpenAI's retry must be handled again. */
  release(id: string): void {
    this.#inFlight.delete(id);
  }

  #prune(now: number): void {
    for (const [id, expires] of this.#expiresAt) if (expires <= now) this.#expiresAt.delete(id);
    // Still too many (a flood within the window): forget the oldest, which are the first inserted.
    for (const id of this.#expiresAt.keys()) {
      if (this.#expiresAt.size <= this.#max) break;
      this.#expiresAt.delete(id);
    }
  }
}
