/**
 * A set of custom_ids that assigns each a dense ordinal (0, 1, 2, ...), in one typed array rather
 * than a `Map<string, …>`: 12 bytes per slot instead of ~80 bytes per entry, so a million ids cost
 * ~24 MB and no strings are retained. Ids are keyed by two independent 32-bit hashes; two distinct
 * ids collide on both with probability ~n²/2^65 (about 3e-8 at one million ids). A slot's three
 * words (hash 1, hash 2, ordinal) sit side by side, so a lookup touches one cache line, not three.
 */
export class CustomIdIndex {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.#slots = new Uint32Array(cap * 3);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The id's ordinal, or -1 when it was never added. */
  get(id: string): number {
    const [a, b] = hashPair(id);
    const slots = this.#slots;
    for (let i = a & this.#mask; ; i = (i + 1) & this.#mask) {
      const h = slots[i * 3 + 1] as number;
      if (h === 0) return -1;
      if (h === b && slots[i * 3] === a) return slots[i * 3 + 2] as number;
    }
  }

  /** Adds the id: returns its new ordinal, or `-(existing ordinal) - 1` when it was already present. */
  add(id: string): number {
    const [a, b] = hashPair(id);
    const slots = this.#slots;
    for (let i = a & this.#mask; ; i = (i + 1) & this.#mask) {
      const h = slots[i * 3 + 1] as number;
      if (h === 0) {
        const ord = this.#size++;
        slots[i * 3] = a;
        slots[i * 3 + 1] = b;
        slots[i * 3 + 2] = ord;
        if (this.#size * 2 > this.#mask) this.#grow();
        return ord;
      }
      if (h === b && slots[i * 3] === a) return -(slots[i * 3 + 2] as number) - 1;
    }
  }

  #grow(): void {
    const old = this.#slots;
    const cap = (this.#mask + 1) * 2;
    const slots = new Uint32Array(cap * 3);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j += 3) {
      const b = old[j + 1] as number;
      if (b === 0) continue;
      const a = old[j] as number;
      let i = a & mask;
      while (slots[i * 3 + 1] !== 0) i = (i + 1) & mask;
      slots[i * 3] = a;
      slots[i * 3 + 1] = b;
      slots[i * 3 + 2] = old[j + 2] as number;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

const pair: [number, number] = [0, 0];

/**
 * FNV-1a and a murmur-style multiply-rotate hash over UTF-16 code units; h2 is never 0 (empty slot).
 * Returns one shared pair: read it before the next call.
 */
export function hashPair(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b ^= b >>> 16;
  pair[0] = a >>> 0;
  pair[1] = b >>> 0 || 1;
  return pair;
}

/** A growable Uint32 column indexed by ordinal, for facts kept per custom_id (first line, round). */
export class OrdinalColumn {
  #data: Uint32Array;
  readonly #empty: number;

  constructor(empty = 0, initial = 1024) {
    this.#empty = empty;
    this.#data = new Uint32Array(initial).fill(empty);
  }

  get(ord: number): number {
    return ord < this.#data.length ? (this.#data[ord] as number) : this.#empty;
  }

  set(ord: number, value: number): void {
    if (ord >= this.#data.length) {
      let cap = this.#data.length * 2;
      while (cap <= ord) cap *= 2;
      const next = new Uint32Array(cap).fill(this.#empty);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[ord] = value;
  }
}
