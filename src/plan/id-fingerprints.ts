import { hashPair } from './custom-id-index.ts';

/** An id's 52-bit fingerprint: 32 bits of one hash and 20 of the other, exact in a double (integers up to 2^53). */
export function idFingerprint(id: string): number {
  const [a, b] = hashPair(id);
  return a * 0x100000 + (b & 0xfffff);
}

/**
 * A cheap first answer to "are the custom_ids unique?": each id's 52-bit hash goes into a growing
 * array (sequential writes, 8 bytes per id), and `hasRepeats` sorts it once at the end. A hash
 * table answers per id but pays a cache miss on every lookup (a quarter of planning's time beyond
 * parsing, at a million ids) and costs ~24 bytes per id (36 while it doubles). A repeat here may be
 * a hash collision (probability ~n²/2^53, about 1e-4 at a million ids), so it means "check those
 * ids again exactly", never "invalid".
 */
export class IdFingerprints {
  #data = new Float64Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(id: string): void {
    if (this.#size === this.#data.length) {
      const grown = new Float64Array(this.#size * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.#size++] = idFingerprint(id);
  }

  /** Whether two ids added may be equal. Sorts in place: call it once, after the last `add`. */
  hasRepeats(): boolean {
    return this.repeats().size > 0;
  }

  /**
   * The fingerprints added more than once: the only ones two equal ids can share. Sorts in place
   * and drops the array: call it once, after the last `add`.
   */
  repeats(): Set<number> {
    const sorted = this.#data.subarray(0, this.#size).sort();
    const out = new Set<number>();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) out.add(sorted[i] as number);
    this.#data = new Float64Array(0);
    this.#size = 0;
    return out;
  }
}
