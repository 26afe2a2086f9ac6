import { describe, expect, it } from 'vitest';
import { costOf, estimateCost, priceFor } from '../../src/cost/index.ts';

describe('cost arithmetic', () => {
  it('batch cost is half the synchronous cost, with cached input at the cached price (hand-computed)', () => {
    // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per 1M tokens (synchronous).
    const usage = { input: 1_000_000, cachedInput: 200_000, output: 500_000, reasoning: 100_000 };
    // sync = 0.8M × 0.15 + 0.2M × 0.075 + 0.5M × 0.60 = 0.12 + 0.015 + 0.30 = 0.435
    expect(costOf(usage, 'gpt-4o-mini', { batch: false })).toBe(0.435);
    expect(costOf(usage, 'gpt-4o-mini')).toBe(0.2175);
  });

  it('dated snapshots use their base model, the longest matching name', () => {
    expect(priceFor('gpt-4o-mini-2024-07-18')).toEqual(priceFor('gpt-4o-mini'));
    expect(priceFor('gpt-4o-2024-08-06')).toEqual(priceFor('gpt-4o'));
    expect(priceFor('my-finetune')).toBeUndefined();
    expect(costOf({ input: 1e6, cachedInput: 0, output: 0, reasoning: 0 }, 'my-finetune')).toBe(0);
  });

  it('overrides replace or add models', () => {
    const prices = {
      'my-model': { input: 4, cachedInput: 1, output: 16 },
      'gpt-4o': { input: 5, cachedInput: 2.5, output: 20 },
    };
    // 2,000 in × $4 + 1,000 out × $16 = $0.008 + $0.016 = $0.024 sync; $0.012 batch.
    expect(costOf({ input: 2000, cachedInput: 0, output: 1000, reasoning: 0 }, 'my-model', { prices })).toBe(0.012);
    expect(costOf({ input: 1e6, cachedInput: 0, output: 0, reasoning: 0 }, 'gpt-4o', { prices, batch: false })).toBe(5);
  });

  it('the planning estimate counts prompt tokens uncached plus the max_tokens caps', () => {
    // text-embedding-3-small: $0.02 / 1M → 1M tokens at batch price = $0.01
    expect(estimateCost(1_000_000, 'text-embedding-3-small')).toBe(0.01);
    // gpt-4o: 10,000 in × $2.50 + 2,000 out × $10 = $0.025 + $0.02 = $0.045 sync → $0.0225 batch
    expect(estimateCost(10_000, 'gpt-4o', 2_000)).toBe(0.0225);
  });
});
