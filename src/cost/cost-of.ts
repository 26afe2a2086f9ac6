import type { TokenUsage } from '../../common/job-types.ts';
import { BATCH_DISCOUNT, priceFor, type PriceTable } from './price-table.ts';

export type { TokenUsage };

/**
 * A running total of {@link TokenUsage} (the one type of `common/job-types.ts`, made writable) that
 * `addUsage` adds into; `cachedInput` is part of `input`, `reasoning` part of `output`.
 */
export type UsageTotals = { -readonly [K in keyof TokenUsage]: TokenUsage[K] };

export function emptyUsage(): UsageTotals {
  return { input: 0, cachedInput: 0, output: 0, reasoning: 0 };
}

export function addUsage(into: UsageTotals, more: TokenUsage): UsageTotals {
  into.input += more.input;
  into.cachedInput += more.cachedInput;
  into.output += more.output;
  into.reasoning += more.reasoning;
  return into;
}

export interface CostOptions {
  /** Batch prices (half) or synchronous list prices. @default true */
  readonly batch?: boolean;
  readonly prices?: PriceTable;
}

// Rounded to 1e-9 USD so that sums of many rows do not print float noise.
const round = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/**
 * What the usage costs: uncached input at the input price, cached input at the cached price,
 * output (reasoning included, as OpenAI bills it) at the output price. Unknown model: 0.
 */
export function costOf(usage: TokenUsage, model: string, options: CostOptions = {}): number {
  const price = priceFor(model, options.prices);
  if (!price) return 0;
  const uncached = Math.max(0, usage.input - usage.cachedInput);
  const usd = (uncached * price.input + usage.cachedInput * price.cachedInput + usage.output * price.output) / 1e6;
  return round(options.batch === false ? usd : usd * BATCH_DISCOUNT);
}

/**
 * The planning estimate at batch prices: every prompt token uncached, and output at the
 * requests' own `max_tokens` caps when they set them (an upper bound), else 0.
 */
export function estimateCost(
  inputTokens: number,
  model: string,
  maxOutputTokens = 0,
  options: CostOptions = {},
): number {
  return costOf({ input: inputTokens, cachedInput: 0, output: maxOutputTokens, reasoning: 0 }, model, options);
}
