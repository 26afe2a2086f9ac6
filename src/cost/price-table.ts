import type { ModelPrice } from '../../common/job-types.ts';

/** Synchronous list prices in USD per 1M tokens (`ModelPrice`); batch requests cost half of these. */
export type { ModelPrice };

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * OpenAI's published synchronous prices (standard tier, mid-2025). They change: pass `prices` to
 * override or add models. Dated snapshots (`gpt-4o-mini-2024-07-18`) match their base name.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'gpt-3.5-turbo': { input: 0.5, cachedInput: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02, cachedInput: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, cachedInput: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, cachedInput: 0.1, output: 0 },
  'omni-moderation-latest': { input: 0, cachedInput: 0, output: 0 },
};

/** The batch discount: "50% cost discount vs. the synchronous APIs" (Batch FAQ). */
export const BATCH_DISCOUNT = 0.5;

/**
 * Finds a model's price: exact name first, then the longest table key that the name starts with
 * followed by `-` (so `gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, never `gpt-4o`).
 */
export function priceFor(model: string, overrides?: PriceTable): ModelPrice | undefined {
  const table = overrides ? { ...DEFAULT_PRICES, ...overrides } : DEFAULT_PRICES;
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (model.startsWith(`${key}-`) && (!best || key.length > best.length)) best = key;
  }
  return best ? table[best] : undefined;
}
