import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT, optionIssues } from '../../common/job-options.ts';
import { estimateWaitCost, nextPollDelayMs } from '../../common/poll-schedule.ts';
import { waitSchedule, WEBHOOK_STRETCH } from '../../common/webhook-wait.ts';

const HOUR = 3_600_000;
// The per-poll constants the wait-cost figures use (test/unit/schedule.test.ts, measured in
// test/integration/job-history.test.ts).
const MEASURED = { eventsPerWake: 15, fixedEvents: 61, fixedActions: 7 };
// A webhook's wake: the signal, and the confirming wait activity's first attempt (two actions);
// 14 history events, measured in test/integration/webhook-wake.test.ts.
const WAKE = { actions: 2, events: 14 };

describe('the wait with webhooks on', () => {
  it('a 24-hour batch costs at most 60 Temporal actions, its wake included', () => {
    const { schedule, refreshMs } = waitSchedule({ ...DEFAULT_WAIT, webhooks: true });
    const day = estimateWaitCost(24 * HOUR, refreshMs, MEASURED, schedule);
    const polling = estimateWaitCost(24 * HOUR, DEFAULT_WAIT.progressRefreshMs, MEASURED);
    const actions = day.actions + WAKE.actions;
    console.log(
      `[webhook cost] 24 h with webhooks: ${day.polls} polls, ${day.wakes} progress wakes, ${actions} actions, ` +
        `${day.events + WAKE.events} events; polling alone: ${polling.polls} polls, ${polling.actions} actions, ${polling.events} events`,
    );
    expect(actions).toBeLessThanOrEqual(60);
    expect(actions).toBeLessThan(polling.actions / 2);
  });

  it('with every delivery lost, a poll still comes within max(minPollMs, 25% of the elapsed time), at most 2 x maxPollMs', () => {
    const { schedule } = waitSchedule({ ...DEFAULT_WAIT, webhooks: true });
    for (let elapsed = 0; elapsed <= 24 * HOUR; elapsed += 60_000) {
      const delay = nextPollDelayMs({ elapsedMs: elapsed, status: 'in_progress', done: 0, total: 0 }, schedule);
      const bound = Math.min(
        Math.max(DEFAULT_WAIT.minPollMs, WEBHOOK_STRETCH.fractionOfElapsed * elapsed),
        WEBHOOK_STRETCH.maxPollFactor * DEFAULT_WAIT.maxPollMs,
      );
      expect(delay, `at ${elapsed} ms`).toBeLessThanOrEqual(bound);
    }
    // A batch ending after 20 hours is noticed within 2 hours (1 hour without webhooks).
    expect(nextPollDelayMs({ elapsedMs: 20 * HOUR, status: 'in_progress', done: 0, total: 0 }, schedule)).toBe(
      2 * HOUR,
    );
  });

  it('without webhooks the schedule is the one before them (5% of the elapsed time, the refresh as given)', () => {
    const { schedule, refreshMs } = waitSchedule(DEFAULT_WAIT);
    expect(schedule).toEqual({
      minDelayMs: 60_000,
      maxDelayMs: HOUR,
      fractionOfElapsed: 0.05,
      validatingDelayMs: 2_000,
    });
    expect(refreshMs).toBe(DEFAULT_WAIT.progressRefreshMs);
  });

  it('the file TTL must cover the stretched longest poll', () => {
    const issues = optionIssues({ wait: { maxPollMs: HOUR, webhooks: true }, openaiFileTtlSeconds: 3_600 + 1_800 });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['openaiFileTtlSeconds']);
    expect(issues[0]?.message).toContain('set openaiFileTtlSeconds to at least 9000');
    expect(optionIssues({ wait: { maxPollMs: HOUR }, openaiFileTtlSeconds: 5_400 })).toEqual([]);
  });
});
