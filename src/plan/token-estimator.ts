import type { BatchEndpoint } from '../requests/index.ts';
import { promptParts } from '../requests/index.ts';
import { CountingProcess } from './counting-process.ts';
import { Fifo } from './fifo.ts';

/** How prompt tokens are counted while planning. */
export type TokenCounting = 'exact' | 'sampled';

/** Models before gpt-4o use cl100k_base; gpt-4o, gpt-4.1, gpt-5 and the o-series use o200k_base. */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' {
  return /^(gpt-4($|-)|gpt-3\.5|text-embedding-|davinci|babbage)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

/** The total token count of a request's texts, counted in this thread. */
type CountTokens = (texts: readonly string[]) => number;

async function loadCounter(encoding: 'o200k_base' | 'cl100k_base'): Promise<CountTokens> {
  // Loaded on demand: each encoding's rank table costs memory and startup time.
  const mod =
    encoding === 'o200k_base'
      ? await import('gpt-tokenizer/encoding/o200k_base')
      : await import('gpt-tokenizer/encoding/cl100k_base');
  return (texts) => {
    let tokens = 0;
    for (const text of texts) tokens += mod.countTokens(text);
    return tokens;
  };
}

// When sampling, one line in SAMPLE_EVERY is tokenized and the rest scale the measured tokens per
// character. After DENSE_SAMPLES samples the ratio is settled, and one line in SPARSE_EVERY is
// enough: tokenizing is the slowest part of planning (gpt-tokenizer reads ~30 MB/s).
const SAMPLE_EVERY = 32;
const DENSE_SAMPLES = 1024;
const SPARSE_EVERY = 256;
const FALLBACK_TOKENS_PER_CHAR = 0.25;
// Samples asked and not yet answered before `behind` tells the caller to wait, and how far it waits:
// bounds the requests held for their estimate (each a few numbers) at ~SPARSE_EVERY per sample.
const MAX_UNANSWERED = 64;
const RESUME_UNANSWERED = 8;

/** A request whose estimate waits for a sample's count: its own (a sampled one) or an earlier one's. */
interface Pending {
  readonly chars: number;
  readonly fixedTokens: number;
  readonly sampled: boolean;
  /** A sampled request's count, once answered. */
  tokens: number | undefined;
  /** Its estimate, once known. */
  estimate: number | undefined;
  /** The total it is charged to (a chunk), -1 for none. */
  total: number;
  /** Hands a sampled request's estimate to `estimate()`'s caller. */
  settle?: (estimate: number) => void;
  reject?: (err: Error) => void;
}

/**
 * Estimates prompt tokens per request with gpt-tokenizer. `exact` tokenizes every request (needed
 * for a token budget); `sampled` tokenizes every 32nd (every 256th after the first 1,024 samples)
 * and scales the others by the measured tokens per character: far cheaper, and deterministic.
 *
 * Sampled counting runs in a process of its own, never waited for line by line when the caller
 * only needs totals: `defer` takes a request, `charge` adds its estimate to a total once the
 * sample before it is counted, and `totals` resolves when every sample is. Each estimate is the
 * same number `estimate()` gives, in the same order; only when it is known differs.
 */
export class TokenEstimator {
  readonly mode: TokenCounting;
  readonly #countHere: CountTokens | undefined;
  #process: CountingProcess | undefined;
  readonly #endpoint: BatchEndpoint;
  #seen = 0;
  #samples = 0;
  #sampledChars = 0;
  #sampledTokens = 0;
  /** Requests in order whose estimate is not yet known; the first is a sampled one awaiting its count. */
  readonly #queue = new Fifo<Pending>();
  /** Sampled requests asked and not answered, oldest first. */
  readonly #asked = new Fifo<Pending>();
  /** The last request taken by `defer`: its estimate if known (then `#last` is undefined). */
  #last: Pending | undefined;
  #lastEstimate = 0;
  readonly #totals: number[] = [];
  #failure: Error | undefined;
  #closed = false;
  #waiter: { until: () => boolean; resolve: () => void; reject: (err: Error) => void } | undefined;

  private constructor(mode: TokenCounting, endpoint: BatchEndpoint, countHere?: CountTokens) {
    this.mode = mode;
    this.#endpoint = endpoint;
    this.#countHere = countHere;
  }

  /**
   * Sampled counting runs its tokenizer in a process that `close()` ends (its rank table then
   * leaves the worker's memory); exact counting, which tokenizes every line, keeps it in this thread.
   */
  static async create(model: string, endpoint: BatchEndpoint, mode: TokenCounting): Promise<TokenEstimator> {
    const encoding = encodingFor(model);
    if (mode === 'exact') return new TokenEstimator(mode, endpoint, await loadCounter(encoding));
    const estimator = new TokenEstimator(mode, endpoint);
    const counting = await CountingProcess.start(encoding, {
      answer: (tokens) => estimator.#answer(tokens),
      fail: (err) => estimator.#fail(err),
    });
    estimator.#process = counting;
    return estimator;
  }

  /** Frees the tokenizer of a sampled estimator; estimating afterwards fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#process?.close();
    this.#fail(new Error('the token estimator is closed'));
  }

  /**
   * The request's estimate: a number, or for a sampled request of sampled counting a promise of
   * it (the count of its process). Throws once the counting process has failed.
   */
  estimate(body: Record<string, unknown>): number | Promise<number> {
    const p = this.#add(body);
    if (p.estimate !== undefined) return p.estimate;
    return new Promise<number>((resolve, reject) => {
      p.settle = resolve;
      p.reject = reject;
    });
  }

  /**
   * Takes the request's estimate without waiting for it: `charge` then adds it to a total, and
   * `totals` resolves once all are known. Throws once the counting process has failed.
   */
  defer(body: Record<string, unknown>): void {
    const p = this.#add(body);
    if (p.estimate !== undefined) {
      this.#last = undefined;
      this.#lastEstimate = p.estimate;
    } else this.#last = p;
  }

  /** Adds the estimate of the request last given to `defer` to total `index` (a chunk). */
  charge(index: number): void {
    if (this.#last) this.#last.total = index;
    else this.#totals[index] = (this.#totals[index] ?? 0) + this.#lastEstimate;
  }

  /** True when so many samples are unanswered that the caller should `await caughtUp()`. */
  get behind(): boolean {
    return this.#asked.length > MAX_UNANSWERED;
  }

  /** Resolves once few samples are unanswered; rejects if the counting process failed. */
  caughtUp(): Promise<void> {
    return this.#wait(() => this.#asked.length <= RESUME_UNANSWERED);
  }

  /** Entries the estimator's queues hold (for tests: bounded by the samples in flight, not the plan's length). */
  get slotsHeld(): number {
    return this.#queue.slots + this.#asked.slots;
  }

  /** Every total `charge` added to, by index (absent indexes are 0), once every estimate is known. */
  async totals(): Promise<number[]> {
    await this.#wait(() => this.#queue.length === 0);
    return Array.from(this.#totals, (t) => t ?? 0);
  }

  #add(body: Record<string, unknown>): Pending {
    if (this.#failure) throw this.#failure;
    const { texts, fixedTokens } = promptParts(body, this.#endpoint);
    let chars = 0;
    for (const t of texts) chars += t.length;
    const every = this.#samples < DENSE_SAMPLES ? SAMPLE_EVERY : SPARSE_EVERY;
    const sampled = this.mode === 'exact' || this.#seen++ % every === 0;
    if (sampled) this.#samples++;
    const p: Pending = { chars, fixedTokens, sampled, tokens: undefined, estimate: undefined, total: -1 };
    if (sampled) {
      if (this.#countHere) p.tokens = this.#countHere(texts);
      else if (texts.length === 0) p.tokens = 0;
      else {
        this.#asked.push(p);
        (this.#process as CountingProcess).ask(texts);
      }
    }
    this.#queue.push(p);
    this.#drain();
    return p;
  }

  /** Settles the queue's requests in order, up to the first sampled one still awaiting its count. */
  #drain(): void {
    const queue = this.#queue;
    for (let p = queue.peek(); p; p = queue.peek()) {
      if (p.sampled) {
        if (p.tokens === undefined) break;
        this.#sampledChars += p.chars;
        this.#sampledTokens += p.tokens;
        p.estimate = p.tokens + p.fixedTokens;
      } else {
        const ratio = this.#sampledChars > 0 ? this.#sampledTokens / this.#sampledChars : FALLBACK_TOKENS_PER_CHAR;
        p.estimate = Math.round(p.chars * ratio) + p.fixedTokens;
      }
      if (p.total >= 0) this.#totals[p.total] = (this.#totals[p.total] ?? 0) + p.estimate;
      p.settle?.(p.estimate);
      if (p === this.#last) {
        this.#last = undefined;
        this.#lastEstimate = p.estimate;
      }
      queue.shift();
    }
    this.#wake();
  }

  #answer(tokens: number): void {
    const p = this.#asked.shift();
    if (!p) return this.#fail(new Error('the token counter answered a text it was not asked'));
    p.tokens = tokens;
    this.#drain();
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#process?.close();
    for (const p of this.#queue) p.reject?.(err);
    this.#wake();
  }

  #wait(until: () => boolean): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (until()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => (this.#waiter = { until, resolve, reject }));
  }

  #wake(): void {
    const w = this.#waiter;
    if (!w) return;
    if (this.#failure) {
      this.#waiter = undefined;
      w.reject(this.#failure);
    } else if (w.until()) {
      this.#waiter = undefined;
      w.resolve();
    }
  }
}
