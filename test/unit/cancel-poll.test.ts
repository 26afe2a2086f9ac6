import { describe, expect, it } from 'vitest';
import { pollObservation, type BatchSnapshot } from '../../activities/openai-batches.ts';
import { DEFAULT_POLL_SCHEDULE, nextPollDelayMs } from '../../common/poll-schedule.ts';

const HOUR = 3_600_000;
const now = Date.parse('2026-12-01T12:00:00Z');

function batch(status: BatchSnapshot['status'], ageMs: number): BatchSnapshot {
  return {
    batchId: 'batch_1',
    status,
    terminal: false,
    createdAtMs: now - ageMs,
    total: 100,
    completed: 40,
    failed: 0,
  };
}

describe('the poll schedule of a cancelled batch', () => {
  it('a batch cancelled after two hours is polled again within seconds, not after the next long poll', () => {
    const waitStarted = now - 1_000;
    const delay = nextPollDelayMs(pollObservation(batch('cancelling', 2 * HOUR), now, waitStarted));
    expect(delay).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.validatingDelayMs);
  });

  it('the cancelling delays double from the cancel, up to the shortest poll', () => {
    const waitStarted = now;
    const delays = [0, 4_000, 30_000, 10 * 60_000].map((t) =>
      nextPollDelayMs(pollObservation(batch('cancelling', 2 * HOUR + t), now + t, waitStarted)),
    );
    expect(delays).toEqual([2_000, 4_000, 30_000, DEFAULT_POLL_SCHEDULE.minDelayMs]);
  });

  it('a running batch keeps the schedule of its age', () => {
    const obs = pollObservation(batch('in_progress', 2 * HOUR), now, now - 1_000);
    expect(obs.elapsedMs).toBe(2 * HOUR);
  });
});
