import { hashPair } from './custom-id-index.ts';

/** An id's 52-bit fingerprint: 32 bits of one hash and 20 of the other, exact in a double (integers up to 2^53). */
export function idFingerprint(id: string): number {
  const [a, b] = hashPair(id);
  return a * 0x100000 + (b & 0xfffff);
}

// Blocks grow from FIRST_BLOCK to BLOCK entries (8 KiB to 512 KiB) and are never copied: an array
// that doubled held old and new copies at once and left every old one as garbage for a full GC
// (at 2M ids, 24 MB live at the last doubling and 16 MB of dead arrays; a plan's peak rose ~44 MB).
const FIRST_BLOCK = 1024;
const BLOCK = 1 << 16;

/**
 * A cheap first answer to "are the custom_ids unique?": each id's 52-bit hash goes into a list of
 * blocks (sequential writes, 8 bytes per id), and `repeats` sorts each block and merges them once
 * at the end. A hash table answers per id but pays a cache miss on every lookup (a quarter of
 * planning's time beyond parsing, at a million ids) and costs ~24 bytes per id (36 while it
 * doubles). A repeat here may be a hash collision (probability ~n²/2^53, about 1e-4 at a million
 * ids), so it means "check those ids again exactly", never "invalid".
 */
export class IdFingerprints {
  #blocks: Float64Array[] = [new Float64Array(FIRST_BLOCK)];
  #block = this.#blocks[0] as Float64Array;
  #used = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(id: string): void {
    if (this.#used === this.#block.length) {
      this.#block = new Float64Array(Math.min(this.#block.length * 2, BLOCK));
      this.#blocks.push(this.#block);
      this.#used = 0;
    }
    this.#block[this.#used++] = idFingerprint(id);
    this.#size++;
  }

  /** Whether two ids added may be equal. Sorts in place: call it once, after the last `add`. */
  hasRepeats(): boolean {
    return this.repeats().size > 0;
  }

  /**
   * The fingerprints added more than once: the only ones two equal ids can share. Sorts in place
   * and drops the blocks: call it once, after the last `add`.
   */
  repeats(): Set<number> {
    const last = this.#blocks.length - 1;
    const runs = this.#blocks.map((b, i) => (i === last ? b.subarray(0, this.#used) : b).sort());
    const size = this.#size;
    this.#blocks = [];
    this.#block = new Float64Array(0);
    this.#used = 0;
    this.#size = 0;
    return repeatsOfSortedRuns(runs, size);
  }
}

/** 2^52: every fingerprint is below it. */
const FINGERPRINT_END = 0x10000000000000;

/**
 * The values found more than once across sorted runs, with one scratch array of about a block:
 * the fingerprint range is cut into slices of ~BLOCK/2 expected values (fingerprints are hashes,
 * spread evenly), and each slice's values, taken from every run in turn, are sorted together and
 * scanned for neighbours that are equal. Each value is copied once and sorted twice (in its run,
 * in its slice); a k-way merge instead cost twice one sort of them all.
 */
function repeatsOfSortedRuns(runs: Float64Array[], size: number): Set<number> {
  const out = new Set<number>();
  const slices = Math.max(1, Math.ceil(size / (BLOCK / 2)));
  const width = FINGERPRINT_END / slices;
  const cursor = new Int32Array(runs.length);
  let scratch = new Float64Array(BLOCK);
  for (let s = 1; s <= slices; s++) {
    const end = s === slices ? Infinity : s * width;
    let m = 0;
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r] as Float64Array;
      let i = cursor[r] as number;
      for (; i < run.length && (run[i] as number) < end; i++) {
        if (m === scratch.length) {
          const grown = new Float64Array(m * 2);
          grown.set(scratch);
          scratch = grown;
        }
        scratch[m++] = run[i] as number;
      }
      cursor[r] = i;
    }
    const slice = scratch.subarray(0, m).sort();
    for (let i = 1; i < m; i++) if (slice[i] === slice[i - 1]) out.add(slice[i] as number);
  }
  return out;
}
