import { describe, expect, it } from 'vitest';
import { IdFingerprints } from '../../src/plan/id-fingerprints.ts';

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
});
