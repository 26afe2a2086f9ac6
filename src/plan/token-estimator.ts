import type { BatchEndpoint } from '../requests/index.ts';
import { promptParts } from '../requests/index.ts';

/** How prompt tokens are counted while planning. */
export type TokenCounting = 'exact' | 'sampled';

type CountTokens = (text: string) => number;

/** Models before gpt-4o use cl100k_base; gpt-4o, gpt-4.1, gpt-5 and the o-series use o200k_base. */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' {
  return /^(gpt-4($|-)|gpt-3\.5|text-embedding-|davinci|babbage)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

async function loadCounter(encoding: 'o200k_base' | 'cl100k_base'): Promise<CountTokens> {
  // Loaded on demand: each encoding's rank table costs memory and startup time.
  const mod =
    encoding === 'o200k_base'
      ? await import('gpt-tokenizer/encoding/o200k_base')
      : await import('gpt-tokenizer/encoding/cl100k_base');
  return (text) => mod.countTokens(text);
}

// When sampling, one line in SAMPLE_EVERY is tokenized and the rest scale the measured tokens per
// character. After DENSE_SAMPLES samples the ratio is settled, and one line in SPARSE_EVERY is
// enough: tokenizing is the slowest part of planning (gpt-tokenizer reads ~30 MB/s).
const SAMPLE_EVERY = 32;
const DENSE_SAMPLES = 1024;
const SPARSE_EVERY = 256;
const FALLBACK_TOKENS_PER_CHAR = 0.25;

/**
 * Estimates prompt tokens per request with gpt-tokenizer. `exact` tokenizes every request (needed
 * for a token budget); `sampled` tokenizes every 32nd (every 256th after the first 1,024 samples)
 * and scales the others by the measured tokens per character: far cheaper, and deterministic.
 */
export class TokenEstimator {
  readonly mode: TokenCounting;
  readonly #count: CountTokens;
  readonly #endpoint: BatchEndpoint;
  #seen = 0;
  #samples = 0;
  #sampledChars = 0;
  #sampledTokens = 0;

  private constructor(mode: TokenCounting, count: CountTokens, endpoint: BatchEndpoint) {
    this.mode = mode;
    this.#count = count;
    this.#endpoint = endpoint;
  }

  static async create(model: string, endpoint: BatchEndpoint, mode: TokenCounting): Promise<TokenEstimator> {
    return new TokenEstimator(mode, await loadCounter(encodingFor(model)), endpoint);
  }

  estimate(body: Record<string, unknown>): number {
    const { texts, fixedTokens } = promptParts(body, this.#endpoint);
    const every = this.#samples < DENSE_SAMPLES ? SAMPLE_EVERY : SPARSE_EVERY;
    const sample = this.mode === 'exact' || this.#seen++ % every === 0;
    let chars = 0;
    let tokens = 0;
    for (const t of texts) {
      chars += t.length;
      if (sample) tokens += this.#count(t);
    }
    if (sample) {
      this.#samples++;
      this.#sampledChars += chars;
      this.#sampledTokens += tokens;
      return tokens + fixedTokens;
    }
    const ratio = this.#sampledChars > 0 ? this.#sampledTokens / this.#sampledChars : FALLBACK_TOKENS_PER_CHAR;
    return Math.round(chars * ratio) + fixedTokens;
  }
}
