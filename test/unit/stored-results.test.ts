// The state side of a job's results in storage (workflows/job/stored-results.ts): parts cut from
// the buffer, retryable rows counted per part until a round takes them, totals.
import { describe, expect, it } from 'vitest';
import type { ChunkResult } from '../../common/job-types.ts';
import { hasPendingRetries, pendingRetries, type JobState } from '../../workflows/job/job-state.ts';
import {
  addToTotals,
  cutPart,
  newStoredResults,
  RECENT_BATCH_IDS,
  RESULTS_PER_PART,
  roundTotals,
  takeRetries,
  type StoredResults,
} from '../../workflows/job/stored-results.ts';

function result(index: number, retryCount: number, round = 1): ChunkResult {
  return {
    round,
    index,
    end: 'completed',
    batchIds: [`batch_${round}_${index}`],
    recordsUri: `file:///r${round}c${index}`,
    retryUri: retryCount > 0 ? `file:///retry-r${round}c${index}` : undefined,
    retryCount,
    counts: { succeeded: 2 - retryCount, failed: retryCount },
    usage: { input: 10, cachedInput: 0, output: 5, reasoning: 0 },
    estimatedCostUsd: 0.01,
  };
}

function stateWith(stored: StoredResults): JobState {
  return {
    jobId: 'job',
    startedAtMs: 0,
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
      estimatedCostUsd: 0,
      chunks: [],
      chunkCount: 200,
      chunksUri: 'file:///plan-chunks.jsonl',
      rejected: { count: 0 },
    },
    nextChunk: 0,
    active: {},
    results: [],
    committedCostUsd: 0,
    skippedForBudget: 0,
    deadlineHit: false,
    retried: [],
    stored,
  };
}

/** Records results as JobRun.record does with stored results: totals, then the buffer. */
function record(state: JobState, ...results: ChunkResult[]): void {
  for (const r of results) {
    addToTotals(state.stored as StoredResults, r);
    state.results.push(r);
  }
}

/** What a retry round takes now (as startNextRound does). */
function takeNow(state: JobState) {
  return takeRetries(state, state.stored as StoredResults, pendingRetries(state));
}

describe('results in storage: parts and pending retries', () => {
  it('a part cut while a retry round plans marks the rows that round took, and keeps the rest pending', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    record(s, ...Array.from({ length: RESULTS_PER_PART }, (_, i) => result(i, i % 10 === 0 ? 1 : 0)));
    // A round starts planning with the 10 buffered results that have retryable rows...
    const take = takeNow(s);
    expect(take.buffered).toHaveLength(10);
    expect(hasPendingRetries(s)).toBe(false);
    // ...a chunk with retryable rows finishes meanwhile...
    record(s, result(100, 1));
    expect(hasPendingRetries(s)).toBe(true);
    // ...and a part is cut before the round is planned: the taken rows are marked, none counted pending.
    const { part, lines } = cutPart(s, stored);
    expect(part).toBe(0);
    expect(lines.filter((l) => l.retryTaken).map((l) => l.index)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(stored.retryParts).toEqual([]);
    // The late one is still pending (in the buffer), taken by the next round, once.
    expect(pendingRetries(s).map((r) => r.index)).toEqual([100]);
    const next = takeNow(s);
    expect(next.buffered.map((r) => r.index)).toEqual([100]);
    expect(hasPendingRetries(s)).toBe(false);
  });

  it('a stored part keeps its retryable rows pending until a round takes the part, and none twice', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    record(s, result(0, 1), result(1, 0), result(2, 2));
    const first = takeNow(s);
    expect(first.buffered.map((r) => r.index)).toEqual([0, 2]);
    // A result that finishes after the take stays pending, and is stored with its part.
    record(s, result(3, 1));
    const { lines } = cutPart(s, stored);
    expect(lines.map((l) => [l.index, l.retryTaken ?? false])).toEqual([
      [0, true],
      [1, false],
      [2, true],
      [3, false],
    ]);
    expect(stored.retryParts).toEqual([{ part: 0, chunks: 1 }]);
    expect(hasPendingRetries(s)).toBe(true);
    // The keys of stored results leave the state: the part's lines say which were taken.
    expect(s.retried).toEqual([]);
    expect(s.results).toEqual([]);
    expect(takeNow(s)).toEqual({ buffered: [], parts: [{ part: 0, chunks: 1 }] });
    expect(hasPendingRetries(s)).toBe(false);
    expect(takeNow(s)).toEqual({ buffered: [], parts: [] });
  });

  it('part numbers are never reused, and a part holds at most RESULTS_PER_PART results', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    record(s, ...Array.from({ length: RESULTS_PER_PART + 5 }, (_, i) => result(i, 0)));
    expect(cutPart(s, stored).lines).toHaveLength(RESULTS_PER_PART);
    expect(cutPart(s, stored)).toMatchObject({ part: 1 });
    expect(cutPart(s, stored)).toEqual({ part: 2, lines: [] });
    expect(stored.parts).toBe(3);
  });

  it('totals count every result, keep the newest batch ids and their count', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    record(s, ...Array.from({ length: 3 * RECENT_BATCH_IDS }, (_, i) => result(i, i % 2)));
    record(s, { ...result(0, 0, 2), end: 'not_submitted', reason: 'deadline', batchIds: [] });
    expect(roundTotals(stored, 1)).toMatchObject({
      chunks: 300,
      skipped: 0,
      rows: 600,
      counts: { succeeded: 450, failed: 150 },
    });
    expect(roundTotals(stored, 2)).toMatchObject({ chunks: 1, skipped: 1 });
    expect(stored.batchCount).toBe(300);
    expect(stored.recentBatchIds).toHaveLength(RECENT_BATCH_IDS);
    expect(stored.recentBatchIds.at(-1)).toBe('batch_1_299');
    expect(stored.deadlineSkips).toBe(1);
    expect(stored.cutEnds).toBe(1);
    expect(stored.usage.input).toBe(3010);
  });

  it('pending retries in stored parts are one range whatever the part count, taken once (retry-parts-as-range)', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    const sizes: number[] = [];
    let index = 0;
    for (let part = 0; part < 60; part++) {
      // Parts 0-49 each have one chunk with retryable rows; parts 50-59 none.
      record(s, ...Array.from({ length: RESULTS_PER_PART }, (_, i) => result(index++, part < 50 && i === 0 ? 1 : 0)));
      cutPart(s, stored, true);
      // The newest batch ids are capped apart (their ids grow a digit here).
      if (part === 9 || part === 59) sizes.push(JSON.stringify({ ...stored, recentBatchIds: [] }).length);
    }
    // The state does not grow with the parts cut: a few counters gain a digit, nothing more (one
    // entry per part would be ~24 bytes each, ~960 for these 40).
    expect((sizes[1] ?? 0) - (sizes[0] ?? 0)).toBeLessThan(40);
    expect(stored.retryParts).toEqual([]);
    expect(stored.retryRange).toEqual({ from: 0, to: 50, chunks: 50 });
    expect(hasPendingRetries(s)).toBe(true);
    expect(takeNow(s)).toEqual({ buffered: [], parts: [], range: { from: 0, to: 50, chunks: 50 } });
    expect(hasPendingRetries(s)).toBe(false);
    // A part cut after the take starts a new range.
    record(s, result(index++, 2));
    cutPart(s, stored, true);
    expect(stored.retryRange).toEqual({ from: 60, to: 61, chunks: 1 });
  });

  it('a run that decided before the patch keeps its per-part entries, and one round takes both kinds', () => {
    const stored = newStoredResults();
    const s = stateWith(stored);
    record(s, result(0, 1));
    cutPart(s, stored);
    record(s, result(1, 1));
    cutPart(s, stored, true);
    expect(takeNow(s)).toEqual({
      buffered: [],
      parts: [{ part: 0, chunks: 1 }],
      range: { from: 1, to: 2, chunks: 1 },
    });
    expect(hasPendingRetries(s)).toBe(false);
  });
});
