/**
 * A first-in, first-out list that holds only what has not been taken yet, however long it runs
 * without ever emptying. A plain array with a head index keeps every taken entry until the array
 * is empty once; the planner's queues (requests awaiting a sample's count) can stay non-empty for a
 * whole plan, so they would hold one entry per request of a 2M-request job.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Entries not yet taken. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Array slots in use, taken ones not yet let go included: what the list costs in memory. */
  get slots(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest entry not yet taken. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Takes the oldest entry. Its slot is cleared at once; slots are given back in batches. */
  shift(): T | undefined {
    const items = this.#items;
    if (this.#head >= items.length) return undefined;
    const item = items[this.#head];
    items[this.#head++] = undefined;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      // Amortized: at least as many entries are dropped as are moved.
      items.copyWithin(0, this.#head);
      items.length -= this.#head;
      this.#head = 0;
    }
    return item;
  }

  /** The entries not yet taken, oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}
