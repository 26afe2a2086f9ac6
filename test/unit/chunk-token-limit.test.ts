import { describe, expect, it } from 'vitest';
import { INPUT_TTL_MARGIN_MS, inputFileMayHaveExpired } from '../../workflows/chunk/token-limit.ts';

describe('a resubmission after token_limit_exceeded never reuses an input file that may have expired', () => {
  const uploadedAt = Date.parse('2026-12-01T00:00:00Z');
  const ttlSeconds = 7_200;

  it('reuses the file well within its TTL', () => {
    expect(inputFileMayHaveExpired(uploadedAt, ttlSeconds, uploadedAt + 3_600_000)).toBe(false);
  });

  it('uploads again once the TTL passed, or will pass before the new batch has read the file', () => {
    expect(inputFileMayHaveExpired(uploadedAt, ttlSeconds, uploadedAt + ttlSeconds * 1000 + 1)).toBe(true);
    expect(inputFileMayHaveExpired(uploadedAt, ttlSeconds, uploadedAt + ttlSeconds * 1000 - INPUT_TTL_MARGIN_MS)).toBe(
      true,
    );
    expect(
      inputFileMayHaveExpired(uploadedAt, ttlSeconds, uploadedAt + ttlSeconds * 1000 - INPUT_TTL_MARGIN_MS - 1),
    ).toBe(false);
  });

  it('without a known upload time or TTL (a run resumed from an older one), keeps the file', () => {
    expect(inputFileMayHaveExpired(undefined, ttlSeconds, uploadedAt + 10 * ttlSeconds * 1000)).toBe(false);
    expect(inputFileMayHaveExpired(uploadedAt, undefined, uploadedAt + 10 * ttlSeconds * 1000)).toBe(false);
  });
});
