// The chunk's poll schedule with and without webhooks (WaitOptions.webhooks), as a pure function:
// the workflow uses it for each wait, the cost estimates and the docs quote its numbers.
import type { WaitOptions } from './job-types.ts';
import type { PollScheduleOptions } from './poll-schedule.ts';

/** How far the fallback polls stretch when a webhook receiver wakes the chunks. */
export const WEBHOOK_STRETCH = {
  /** A poll comes at most this fraction of the elapsed time after the last (5% without webhooks). */
  fractionOfElapsed: 0.25,
  /** The longest delay between polls is `maxPollMs` times this. */
  maxPollFactor: 2,
  /** Progress wakes come every `progressRefreshMs` times this. */
  refreshFactor: 2,
} as const;

/** The fraction of the elapsed time that bounds the delay between polls without webhooks. */
export const POLL_FRACTION_OF_ELAPSED = 0.05;

/** The poll schedule and progress refresh interval of a chunk's wait under `wait`. */
export function waitSchedule(
  wait: Required<Pick<WaitOptions, 'minPollMs' | 'maxPollMs' | 'validatingPollMs' | 'progressRefreshMs'>> &
    Pick<WaitOptions, 'webhooks'>,
): { schedule: PollScheduleOptions; refreshMs: number } {
  const stretch = wait.webhooks === true;
  return {
    schedule: {
      minDelayMs: wait.minPollMs,
      maxDelayMs: stretch ? wait.maxPollMs * WEBHOOK_STRETCH.maxPollFactor : wait.maxPollMs,
      fractionOfElapsed: stretch ? WEBHOOK_STRETCH.fractionOfElapsed : POLL_FRACTION_OF_ELAPSED,
      validatingDelayMs: wait.validatingPollMs,
    },
    refreshMs: stretch ? wait.progressRefreshMs * WEBHOOK_STRETCH.refreshFactor : wait.progressRefreshMs,
  };
}

/**
 * After a webhook's wake, the polls that follow the confirming one at `minPollMs` (a hint may
 * arrive before `retrieve` shows the batch ended) before the wait hands back to the schedule.
 */
export const WAKE_QUICK_POLLS = 3;

/**
 * The wait activity's schedule-to-close bound for a progress refresh of `refreshMs`: room for the
 * refresh and the poll after it, so the bound only fires when a worker was down.
 */
export function waitActivityBoundMs(refreshMs: number): number {
  return refreshMs * 2 + 300_000;
}
