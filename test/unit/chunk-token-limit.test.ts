import { describe, expect, it } from 'vitest';
import {
  INPUT_TTL_MARGIN_MS,
  inputFileExpiresAtMs,
  inputFileMayHaveExpired,
} from '../../workflows/chunk/token-limit.ts';

describe('a resubmission after token_limit_exceeded never reuses an input file that may have expired', () => {
  const uploadedAt = Date.parse('2026-12-01T00:00:00Z');
  const ttlSeconds = 7_200;
  const expiresAt = uploadedAt + ttlSeconds * 1000;

  it('reuses the file well within its TTL', () => {
    expect(inputFileMayHaveExpired(expiresAt, uploadedAt + 3_600_000)).toBe(false);
  });

  it('uploads again once the TTL passed, or will pass before the new batch has read the file', () => {
    expect(inputFileMayHaveExpired(expiresAt, expiresAt + 1)).toBe(true);
    expect(inputFileMayHaveExpired(expiresAt, expiresAt - INPUT_TTL_MARGIN_MS)).toBe(true);
    expect(inputFileMayHaveExpired(expiresAt, expiresAt - INPUT_TTL_MARGIN_MS - 1)).toBe(false);
  });

  it("takes OpenAI's expiry over the TTL asked for, which is only the fallback for older uploads", () => {
    const early = uploadedAt + 60_000;
    expect(inputFileExpiresAtMs({ uploadedAtMs: uploadedAt, fileExpiresAtMs: early }, ttlSeconds)).toBe(early);
    expect(inputFileExpiresAtMs({ uploadedAtMs: uploadedAt, fileExpiresAtMs: undefined }, ttlSeconds)).toBe(expiresAt);
  });

  it('without a known expiry, upload time or TTL (a run resumed from an older one), keeps the file', () => {
    const none = { uploadedAtMs: undefined, fileExpiresAtMs: undefined };
    expect(inputFileExpiresAtMs(none, ttlSeconds)).toBeUndefined();
    expect(inputFileExpiresAtMs({ ...none, uploadedAtMs: uploadedAt }, undefined)).toBeUndefined();
    expect(inputFileMayHaveExpired(undefined, uploadedAt + 10 * ttlSeconds * 1000)).toBe(false);
  });
});
