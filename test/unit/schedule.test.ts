import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT } from '../../common/job-options.ts';
import {
  countPolls,
  DEFAULT_POLL_SCHEDULE,
  estimateWaitCost,
  estimatedRemainingMs,
  nextPollDelayMs,
} from '../../common/poll-schedule.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const running = (elapsedMs: number, done = 0, total = 0) => ({ elapsedMs, status: 'in_progress', done, total });

describe('the polling schedule', () => {
  it('never waits longer than max(60 s, 5% of the elapsed time)', () => {
    for (let elapsed = 0; elapsed <= 25 * HOUR; elapsed += 7 * MIN) {
      const delay = nextPollDelayMs(running(elapsed));
      expect(delay).toBeLessThanOrEqual(Math.max(MIN, 0.05 * elapsed));
    }
  });

  it('polls every minute early, then grows with elapsed time up to 60 minutes', () => {
    expect(nextPollDelayMs(running(5 * MIN))).toBe(MIN);
    expect(nextPollDelayMs(running(2 * HOUR))).toBe(0.05 * 2 * HOUR);
    expect(nextPollDelayMs(running(22 * HOUR))).toBe(DEFAULT_POLL_SCHEDULE.maxDelayMs);
  });

  it('polls a validating batch within seconds so that validation failures surface quickly', () => {
    expect(nextPollDelayMs({ elapsedMs: 0, status: 'validating', done: 0, total: 0 })).toBe(2_000);
    expect(nextPollDelayMs({ elapsedMs: 8_000, status: 'validating', done: 0, total: 0 })).toBe(8_000);
    expect(nextPollDelayMs({ elapsedMs: 10 * MIN, status: 'validating', done: 0, total: 0 })).toBe(MIN);
  });

  it('polls just after the end the observed progress rate predicts', () => {
    // 90% done after 10 hours: about 67 minutes remain, later than the 30-minute bound (5% of 10 h).
    expect(nextPollDelayMs(running(10 * HOUR, 9_000, 10_000))).toBe(30 * MIN);
    // 99% done after 10 hours: about 6 minutes remain, sooner than the 30-minute bound.
    const delay = nextPollDelayMs(running(10 * HOUR, 9_900, 10_000));
    expect(delay).toBeGreaterThan(6 * MIN);
    expect(delay).toBeLessThan(7 * MIN);
    expect(estimatedRemainingMs(running(HOUR, 0, 10))).toBeUndefined();
    expect(nextPollDelayMs({ elapsedMs: 3 * HOUR, status: 'finalizing', done: 10, total: 10 })).toBe(MIN);
  });

  it('scales with the options, so that tests run the same schedule in milliseconds', () => {
    const fast = { minDelayMs: 100, maxDelayMs: 1_000, fractionOfElapsed: 0.05, validatingDelayMs: 50 };
    expect(nextPollDelayMs(running(0), fast)).toBe(100);
    expect(nextPollDelayMs(running(HOUR), fast)).toBe(1_000);
  });

  it('a 24-hour batch costs at most 115 polls, a 1-hour batch at most 50', () => {
    const day = countPolls(24 * HOUR, DEFAULT_POLL_SCHEDULE, 2 * MIN);
    const hour = countPolls(HOUR, DEFAULT_POLL_SCHEDULE, 2 * MIN);
    expect(day).toBeLessThanOrEqual(115);
    expect(hour).toBeLessThanOrEqual(50);
  });

  it('one 24-hour batch stays within 150 actions and 1,000 history events with the default 2-hour refresh', () => {
    // Measured in test/integration/job-history.test.ts: 11 chunk events per wake plus 4 in the job
    // (signal + workflow task); 39 chunk events and about 22 job events for the fixed steps.
    // Fixed actions: child start (2), upload, create, collect, the "waiting" and "done" signals.
    const measured = { eventsPerWake: 15, fixedEvents: 61, fixedActions: 7 };
    const day = estimateWaitCost(24 * HOUR, DEFAULT_WAIT.progressRefreshMs, measured);
    const hour = estimateWaitCost(HOUR, DEFAULT_WAIT.progressRefreshMs, measured);
    console.log(`[cost] 24 h: ${JSON.stringify(day)}; 1 h: ${JSON.stringify(hour)}`);
    expect(day.actions).toBeLessThanOrEqual(150);
    expect(day.events).toBeLessThanOrEqual(1_000);
    expect(hour.actions).toBeLessThanOrEqual(60);
    // A 1-hour refresh would cost more than the action budget allows: why the default is 2 hours.
    expect(estimateWaitCost(24 * HOUR, HOUR, measured).actions).toBeGreaterThan(150);
  });
});
