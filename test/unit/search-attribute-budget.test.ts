import { describe, expect, it } from 'vitest';
import {
  batchIdsWithinBudget,
  keywordWithinBudget,
  SEARCH_ATTRIBUTE_VALUE_BYTES,
} from '../../common/search-attributes.ts';

const id = (i: number): string => `batch_${i.toString(16).padStart(32, '0')}`;
const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

describe('search attribute values within 2 KiB', () => {
  it('keeps every batch id of a small job', () => {
    const all = [id(1), id(2), id(3)];
    expect(batchIdsWithinBudget([id(3)], all)).toEqual(all);
  });

  it('keeps 2,000 batch ids under the limit: the active ones, then the newest', () => {
    const all = Array.from({ length: 2_000 }, (_, i) => id(i));
    const active = [id(3), id(500), id(1_999)];
    const kept = batchIdsWithinBudget(active, all);
    expect(bytes(kept)).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_BYTES);
    expect(bytes([...kept, id(9_999)])).toBeGreaterThan(SEARCH_ATTRIBUTE_VALUE_BYTES);
    for (const a of active) expect(kept).toContain(a);
    expect(kept).toContain(id(1_998));
    expect(kept).not.toContain(id(1_000));
  });

  it('counts bytes, not entries, whatever an id looks like', () => {
    const all = Array.from({ length: 100 }, (_, i) => `batch_é${'x'.repeat(200)}${i}`);
    const kept = batchIdsWithinBudget([], all);
    expect(bytes(kept)).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_BYTES);
    expect(kept.at(-1)).toBe(all.at(-1));
  });

  it('cuts a long keyword on a character boundary', () => {
    const cut = keywordWithinBudget('é'.repeat(3_000));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(SEARCH_ATTRIBUTE_VALUE_BYTES);
    expect(cut).toBe('é'.repeat(1_000));
    expect(keywordWithinBudget('nightly')).toBe('nightly');
  });
});
