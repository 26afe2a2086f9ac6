import { describe, expect, it } from 'vitest';
import { CREATE_SETTLE_MS, resolveCreateBatchTiming } from '../../activities/create-batch.ts';

describe('createBatchTiming', () => {
  it('defaults to a 10 s send window, 15 s timeout and 5 s grace (a 30 s settle wait)', () => {
    expect(resolveCreateBatchTiming()).toEqual({
      sendWindowMs: 10_000,
      requestTimeoutMs: 15_000,
      landingGraceMs: 5_000,
      settleMs: CREATE_SETTLE_MS,
    });
    expect(resolveCreateBatchTiming({ requestTimeoutMs: 2_000 }).settleMs).toBe(17_000);
  });

  it('a value that is not a positive whole number, or windows too long for the 5-minute create, are refused by name', () => {
    expect(() => resolveCreateBatchTiming({ sendWindowMs: 0 })).toThrow(
      'createBatchTiming.sendWindowMs must be a positive whole number of milliseconds (got 0)',
    );
    expect(() => resolveCreateBatchTiming({ landingGraceMs: 1.5 })).toThrow(/landingGraceMs/);
    expect(() => resolveCreateBatchTiming({ requestTimeoutMs: 200_000 })).toThrow(/keep it at most 120000 ms/);
  });
});
