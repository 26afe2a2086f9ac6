import { describe, expect, it } from 'vitest';
import { IdFingerprints, idFingerprint } from '../../src/plan/id-fingerprints.ts';

describe('IdFingerprints', () => {
  it('finds no repeat among distinct ids, past its first growth', () => {
    const f = new IdFingerprints();
    for (let i = 0; i < 5000; i++) f.add(`row-${i}`);
    expect(f.hasRepeats()).toBe(false);
  });

  it('finds a repeated id wherever it occurs', () => {
    for (const at of [1, 2500, 4999]) {
      const f = new IdFingerprints();
      for (let i = 0; i < 5000; i++) f.add(i === at ? 'row-0' : `row-${i}`);
      expect(f.hasRepeats()).toBe(true);
    }
  });

  it('treats ids that differ only in non-ASCII characters as distinct', () => {
    const f = new IdFingerprints();
    for (const id of ['é', 'e\u0301', 'ë', '日本', '日本語', '']) f.add(id);
    expect(f.hasRepeats()).toBe(false);
  });

  it('finds a repeat between ids added far apart, and names only that fingerprint', () => {
    // 200,000 ids fill several of its blocks: the two equal ids end up in different ones.
    const f = new IdFingerprints();
    for (let i = 0; i < 200_000; i++) f.add(i === 150_000 ? 'row-3' : `row-${i}`);
    expect([...f.repeats()]).toEqual([idFingerprint('row-3')]);
  });

  it('finds every repeat, however many times an id occurs', () => {
    const f = new IdFingerprints();
    for (let i = 0; i < 100_000; i++) f.add(i % 3 === 0 ? 'same' : i % 1000 === 1 ? 'other' : `row-${i}`);
    expect(new Set(f.repeats())).toEqual(new Set([idFingerprint('same'), idFingerprint('other')]));
  });
});
