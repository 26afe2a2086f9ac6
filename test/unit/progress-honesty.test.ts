import { describe, expect, it } from 'vitest';
import { etaMs, progressMarkdown } from '../../workflows/job/job-state.ts';
import { planningProgress } from '../../workflows/job/job-state.ts';
import { ProgressDisplay, progressLines } from '../../src/tools/cli/progress-display.ts';
import type { JobProgress } from '../../common/job-types.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;

function progress(overrides: Partial<JobProgress> = {}): JobProgress {
  return {
    ...planningProgress('job'),
    phase: 'running',
    round: 1,
    totalRequests: 2_000,
    roundRequests: 2_000,
    roundStartedAtMs: T0,
    chunks: { planned: 1, active: 1, done: 0, skipped: 0 },
    estimatedCostUsd: 0.5,
    ...overrides,
  };
}

describe('an ETA honest about what it knows', () => {
  it('takes the rate up to the last poll, not up to now', () => {
    // 1,000 rows seen after 10 minutes; asked 5 minutes later with no newer poll.
    expect(etaMs(1_000, 2_000, T0, T0 + 10 * MIN, T0 + 15 * MIN)).toBe(T0 + 20 * MIN);
  });

  it('has no ETA before 5% of the rows are seen done', () => {
    // The case: 50 of 2,000 rows seen in the first poll.
    expect(etaMs(50, 2_000, T0, T0 + 50_000, T0 + 50_000)).toBeUndefined();
    expect(etaMs(100, 2_000, T0, T0 + 50_000, T0 + 50_000)).toBe(T0 + 1_000_000);
  });

  it('has no ETA once the predicted end passed with rows still to do', () => {
    expect(etaMs(1_000, 2_000, T0, T0 + 10 * MIN, T0 + 25 * MIN)).toBeUndefined();
  });
});

describe('the progress lines', () => {
  it('leave tokens out until a chunk finished, and call the cost an upper bound', () => {
    const [, line] = progressLines(progress({ rowsDone: 500 }), 60_000, T0 + MIN);
    expect(line).not.toContain('tokens');
    expect(line).toContain('cost at most $0.5000');
    const [, done] = progressLines(
      progress({
        rowsDone: 500,
        chunks: { planned: 2, active: 1, done: 1, skipped: 0 },
        usage: { input: 1_200, cachedInput: 0, output: 300, reasoning: 0 },
      }),
      60_000,
      T0 + MIN,
    );
    expect(done).toContain('tokens in 1,200 out 300');
  });

  it('show no ETA rather than one from the display clock, and how old the counts are', () => {
    const [, line] = progressLines(progress({ rowsDone: 50, observedAtMs: T0 + 50_000 }), 80_000, T0 + 80_000);
    expect(line).toContain('ETA -');
    expect(line).toContain('(counts 30s old)');
  });

  it('an ended job shows no ETA', () => {
    const [, line] = progressLines(progress({ phase: 'completed', rowsDone: 2_000, percent: 100 }), 60_000, T0);
    expect(line).not.toContain('ETA');
  });

  it('rows never go back on screen within a round', () => {
    const written: string[] = [];
    const out = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const display = new ProgressDisplay(out, 0);
    display.update(progress({ rowsDone: 1_716, percent: 85 }), 1_000);
    display.update(progress({ rowsDone: 867, percent: 43 }), 2_000);
    display.update(progress({ rowsDone: 2_000, percent: 100 }), 3_000);
    expect(written.join('')).not.toContain('867');
    expect(written.join('')).toContain('2,000/2,000');
  });

  it('the UI details call the cost an upper bound and say when the counts were seen', () => {
    const md = progressMarkdown(progress({ rowsDone: 500, observedAtMs: T0 + 42_000 }), T0 + MIN);
    expect(md).toContain('cost at most $0.5000 (an upper bound');
    expect(md).toContain('rows counted as of 2026-12-01 10:00:42 UTC');
    expect(md).toContain('tokens: counted when the first chunk finishes');
  });
});
