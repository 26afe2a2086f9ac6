import { describe, expect, it } from 'vitest';
import {
  etaMs,
  jobProgress,
  pendingRetries,
  progressMarkdown,
  retriedKeys,
  roughDuration,
  type JobState,
} from '../../workflows/job/job-state.ts';
import type { ChunkResult } from '../../common/job-types.ts';

const T0 = Date.parse('2026-11-22T01:00:00Z');

function result(round: number, index: number, retryCount: number): ChunkResult {
  return {
    round,
    index,
    end: 'completed',
    batchIds: [`batch_${round}_${index}`],
    recordsUri: `file:///r${round}c${index}`,
    retryUri: retryCount > 0 ? `file:///retry-r${round}c${index}` : undefined,
    retryCount,
    counts: { succeeded: 100 - retryCount, failed: retryCount },
    usage: { input: 10, cachedInput: 0, output: 5, reasoning: 0 },
    estimatedCostUsd: 0.01,
  };
}

function state(overrides: Partial<JobState> = {}): JobState {
  return {
    jobId: 'job',
    startedAtMs: T0,
    model: 'gpt-4o-mini',
    firstRoundRequests: 400,
    rejected: { count: 0 },
    phase: 'running',
    round: 1,
    plan: {
      jobId: 'job',
      round: 1,
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      totalRequests: 400,
      totalBytes: 1,
      estimatedInputTokens: 1,
      estimatedCostUsd: 0.04,
      chunks: [0, 1, 2, 3].map((index) => ({
        index,
        uri: `file:///c${index}`,
        requests: 100,
        bytes: 1,
        estimatedInputTokens: 1,
        estimatedCostUsd: 0.01,
      })),
      rejected: { count: 0 },
    },
    nextChunk: 4,
    active: {},
    results: [],
    committedCostUsd: 0.04,
    skippedForBudget: 0,
    deadlineHit: false,
    ...overrides,
  };
}

describe('ETA', () => {
  it('extrapolates the round rate: a quarter done in 30 minutes ends 90 minutes later', () => {
    expect(etaMs(100, 400, T0, T0 + 30 * 60_000)).toBe(T0 + 120 * 60_000);
  });

  it('has no ETA before the first row, and none from a zero elapsed time', () => {
    expect(etaMs(0, 400, T0, T0 + 60_000)).toBeUndefined();
    expect(etaMs(10, 400, T0, T0)).toBeUndefined();
  });

  it('rounds durations for people', () => {
    expect(roughDuration(40_000)).toBe('40 s');
    expect(roughDuration(12 * 60_000)).toBe('12 m');
    expect(roughDuration(200 * 60_000)).toBe('3 h 20 m');
    expect(roughDuration(120 * 60_000)).toBe('2 h');
  });

  it('the Markdown current details show the ETA and the deadline', () => {
    const s = state({
      results: [result(1, 0, 0)],
      active: {
        'job/r1/c1': {
          round: 1,
          index: 1,
          phase: 'waiting',
          batchId: 'batch_abc',
          batchStatus: 'in_progress',
          done: 50,
          total: 100,
        },
      },
      roundStartedAtMs: T0,
    });
    const now = T0 + 30 * 60_000;
    const p = jobProgress(s, now, T0 + 6 * 3_600_000);
    expect(p.rowsDone).toBe(150);
    expect(p.percent).toBe(37);
    // 150 rows in 30 minutes: 250 more take 50 minutes.
    expect(p.etaMs).toBe(now + 50 * 60_000);
    const md = progressMarkdown(p, now);
    expect(md).toContain("- ETA: 2026-11-22 02:20 UTC (in about 50 m, at this round's rate so far)");
    expect(md).toContain('- deadline: 2026-11-22 07:00 UTC');
    expect(md).toContain('- r1/c1: waiting `batch_abc` (in_progress 50/100)');
  });

  it('no ETA once the job is finalizing', () => {
    expect(jobProgress(state({ phase: 'finalizing', results: [result(1, 0, 0)] }), T0 + 60_000).etaMs).toBeUndefined();
  });
});

describe('rows still to retry', () => {
  it('a state saved before rounds could overlap counts every earlier round as retried', () => {
    const s = state({ round: 2, results: [result(1, 0, 5), result(1, 1, 3), result(2, 0, 1)] });
    expect(retriedKeys(s)).toEqual(['r1/c0', 'r1/c1']);
    expect(pendingRetries(s).map((r) => r.retryUri)).toEqual(['file:///retry-r2c0']);
  });

  it('with a retried list, a late result of an earlier round is still to retry', () => {
    // Round 2 was started early from r1/c0; r1/c1 finished afterwards.
    const s = state({ round: 2, retried: ['r1/c0'], results: [result(1, 0, 5), result(2, 0, 0), result(1, 1, 3)] });
    expect(pendingRetries(s).map((r) => r.retryUri)).toEqual(['file:///retry-r1c1']);
  });

  it("the round's percentage ignores an earlier round's chunk that still runs", () => {
    const s = state({
      round: 2,
      retried: ['r1/c0'],
      roundStartedAtMs: T0,
      plan: {
        ...state().plan,
        round: 2,
        totalRequests: 5,
        chunks: [
          { index: 0, uri: 'file:///r2c0', requests: 5, bytes: 1, estimatedInputTokens: 1, estimatedCostUsd: 0 },
        ],
      },
      active: { 'job/r1/c1': { round: 1, index: 1, phase: 'waiting', done: 90, total: 100 } },
    });
    const p = jobProgress(s, T0 + 1_000);
    expect(p.rowsDone).toBe(0);
    expect(p.percent).toBe(0);
    expect(p.active).toHaveLength(1);
  });
});
