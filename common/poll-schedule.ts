// The polling schedule of one batch, as a pure function of what was observed. Workflow-safe: the
// wait activity calls it to choose each retry's delay, and unit tests pin its promises.

/** What the schedule knows when a poll finds the batch still running. */
export interface PollObservation {
  /** Milliseconds since OpenAI created the batch. */
  readonly elapsedMs: number;
  /** The batch's status, e.g. `validating`, `in_progress`, `finalizing`, `cancelling`. */
  readonly status: string;
  /** Rows done (completed + failed) and total, from `request_counts`; 0/0 while validating. */
  readonly done: number;
  readonly total: number;
}

/** Tunables of the schedule; workflow inputs, so that tests can run it in seconds. */
export interface PollScheduleOptions {
  /** Shortest delay between polls. @default 60_000 */
  readonly minDelayMs: number;
  /** Longest delay between polls. @default 3_600_000 (60 minutes; the 5% bound reaches it after 20 hours) */
  readonly maxDelayMs: number;
  /** Delay is at most this fraction of the elapsed time, so completion is noticed within it. @default 0.05 */
  readonly fractionOfElapsed: number;
  /** First delay while the batch validates, doubled until `minDelayMs`. @default 2_000 */
  readonly validatingDelayMs: number;
}

export const DEFAULT_POLL_SCHEDULE: PollScheduleOptions = {
  minDelayMs: 60_000,
  maxDelayMs: 3_600_000,
  fractionOfElapsed: 0.05,
  validatingDelayMs: 2_000,
};

/**
 * The delay before the next poll. Completion must be noticed within max(min delay, fraction x
 * elapsed): the delay never exceeds that bound. Validation failures surface in seconds: while the
 * batch validates, delays start at `validatingDelayMs` and double with elapsed time. When the
 * observed progress rate predicts the end sooner than the bound, the poll lands just after it.
 */
export function nextPollDelayMs(
  observation: PollObservation,
  options: PollScheduleOptions = DEFAULT_POLL_SCHEDULE,
): number {
  const elapsed = Math.max(0, observation.elapsedMs);
  const bound = clamp(options.fractionOfElapsed * elapsed, options.minDelayMs, options.maxDelayMs);
  if (observation.status === 'validating' || observation.status === 'cancelling') {
    // Validation takes seconds to minutes; a failure here should reach the job at once.
    return clamp(
      Math.max(options.validatingDelayMs, elapsed),
      options.validatingDelayMs,
      Math.min(bound, options.minDelayMs),
    );
  }
  const eta = estimatedRemainingMs(observation);
  if (eta !== undefined && eta < bound) return Math.round(Math.min(bound, Math.max(options.minDelayMs, eta * 1.05)));
  return Math.round(bound);
}

/** Remaining time predicted from the average rate so far, or undefined before any row is done. */
export function estimatedRemainingMs(observation: PollObservation): number | undefined {
  const { done, total, elapsedMs } = observation;
  if (total <= 0 || done <= 0 || elapsedMs <= 0) return undefined;
  if (done >= total) return 0;
  return ((total - done) * elapsedMs) / done;
}

/**
 * The polls a batch that runs `durationMs` costs under the schedule, with no progress signal:
 * what the Temporal action budget is checked against.
 */
export function countPolls(
  durationMs: number,
  options: PollScheduleOptions = DEFAULT_POLL_SCHEDULE,
  validatingMs = 0,
): number {
  let elapsed = 0;
  let polls = 0;
  while (elapsed < durationMs) {
    const status = elapsed < validatingMs ? 'validating' : 'in_progress';
    elapsed += nextPollDelayMs({ elapsedMs: elapsed, status, done: 0, total: 0 }, options);
    polls += 1;
  }
  return polls;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}

/** What one batch's wait costs in Temporal actions and history events. */
export interface WaitCost {
  readonly polls: number;
  readonly wakes: number;
  readonly actions: number;
  readonly events: number;
}

/**
 * The cost of waiting `durationMs` for one batch: every poll is one activity attempt (an action,
 * no event); every progress wake adds a new activity's first attempt and a signal to the job (two
 * actions) and `eventsPerWake` events. `fixed` covers the chunk's other steps (start, upload,
 * create, collect, final signal). Measured figures are in test/integration/job-history.test.ts.
 */
export function estimateWaitCost(
  durationMs: number,
  refreshMs: number,
  measured: { eventsPerWake: number; fixedEvents: number; fixedActions: number },
  options: PollScheduleOptions = DEFAULT_POLL_SCHEDULE,
  validatingMs = 120_000,
): WaitCost {
  const polls = countPolls(durationMs, options, validatingMs);
  const wakes = Math.floor(durationMs / refreshMs);
  return {
    polls,
    wakes,
    actions: polls + 2 * wakes + measured.fixedActions,
    events: measured.fixedEvents + wakes * measured.eventsPerWake,
  };
}
