import { hashPair } from './custom-id-index.ts';

/**
 * A cheap first answer to "are the custom_ids unique?": each id's 52-bit hash goes into a growing
 * array (sequential writes, 8 bytes per id), and `hasRepeats` sorts it once at the end. A hash
 * table answers per id but pays a cache miss on every lookup (a quarter of planning's time beyond
 * parsing, at a million ids). A repeat here may be a hash collision (probability ~n²/2^53, about
 * 1e-4 at a million ids), so it means "check again with CustomIdIndex", never "invalid".
 */
export class IdFingerprints {
  #data = new Float64Array(1024);
  #size = 0;

  add(id: string): void {
    if (this.#size === this.#data.length) {
      const grown = new Float64Array(this.#size * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    const [a, b] = hashPair(id);
    // 32 bits of one hash and 20 of the other: exact in a double (integers up to 2^53).
    this.#data[this.#size++] = a * 0x100000 + (b & 0xfffff);
  }

  /** Whether two ids added may be equal. Sorts in place: call it once, after the last `add`. */
  hasRepeats(): boolean {
    const sorted = this.#data.subarray(0, this.#size).sort();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return true;
    return false;
  }
}
