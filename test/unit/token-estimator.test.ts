import { describe, expect, it } from 'vitest';
import { TokenEstimator } from '../../src/plan/token-estimator.ts';

const body = (text: string): Record<string, unknown> => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: text }],
});

describe('TokenEstimator', () => {
  // Sampled counting asks a thread of its own (its rank table leaves the worker with the thread);
  // exact counting counts in this thread. A sampled line must count the same either way.
  it('counts a sampled line in its thread as exact counting does here', async () => {
    for (const model of ['gpt-4o-mini', 'gpt-4-turbo']) {
      const sampled = await TokenEstimator.create(model, '/v1/chat/completions', 'sampled');
      const exact = await TokenEstimator.create(model, '/v1/chat/completions', 'exact');
      try {
        const text = 'The quick brown fox jumps over the lazy dog. Ünïcödé 漢字 emoji 🦊 and more words.';
        // The first line is always sampled.
        expect(sampled.estimate(body(text))).toBe(exact.estimate(body(text)));
        expect(exact.estimate(body(text))).toBeGreaterThan(15);
        // Later lines: sampled ones counted, the rest scaled; all positive and near the exact count.
        for (let i = 1; i < 100; i++) {
          const line = `${text} line ${i}`;
          const estimate = sampled.estimate(body(line));
          expect(Math.abs(estimate - exact.estimate(body(line)))).toBeLessThanOrEqual(3);
        }
      } finally {
        sampled.close();
        exact.close();
      }
    }
  });

  it("fails loudly after close rather than hanging (sampled counting's thread is gone)", async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    sampled.close();
    const started = Date.now();
    expect(() => sampled.estimate(body('hello'))).toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 60_000);
});
