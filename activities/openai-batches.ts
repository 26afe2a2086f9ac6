import { activityInfo, Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type OpenAI from 'openai';
import { callOpenAI } from '../src/openai/errors.ts';
import { redactKeys } from '../src/openai/redact.ts';
import { nextPollDelayMs, type PollObservation, type PollScheduleOptions } from '../common/poll-schedule.ts';
import type { CrashHook } from './crash-point.ts';
import { FAILURE_TYPES } from '../common/failures.ts';
import { type BatchStatus, isTerminalStatus } from '../common/batch-status.ts';
import { recordPoll } from './metrics.ts';
import { deleteFileQuietly, filesNamed } from './files-named.ts';

/** A batch as the workflows see it: status, counts and file ids, never contents. */
export interface BatchSnapshot {
  readonly batchId: string;
  readonly status: BatchStatus;
  readonly terminal: boolean;
  readonly createdAtMs: number;
  /** When the batch ended at OpenAI (`completed_at`, `expired_at`, `cancelled_at` or `failed_at`), epoch ms. */
  readonly endedAtMs?: number | undefined;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly outputFileId?: string | undefined;
  readonly errorFileId?: string | undefined;
  readonly errors?: readonly BatchErrorRef[] | undefined;
  /** Set when the job's deadline passed while the batch was still running. */
  readonly deadlineReached?: boolean;
  /** When a running batch is returned for a progress refresh: when its next poll is due (epoch ms). */
  readonly nextPollAtMs?: number;
  /** Whether this batch was found (adopted) rather than created by this call. */
  readonly adopted?: boolean;
}

/** One entry of a failed batch's `errors.data`. */
export interface BatchErrorRef {
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly line?: number | null | undefined;
  readonly param?: string | null | undefined;
}

/** Input of `waitForBatch`. */
export interface WaitForBatchInput {
  readonly batchId: string;
  readonly schedule: PollScheduleOptions;
  /** Return (not terminal) once this long has passed since the activity was scheduled. */
  readonly refreshMs: number;
  readonly deadlineMs?: number | undefined;
  /** Epoch ms before which the batch is not polled again (carried over a progress refresh). */
  readonly nextPollAtMs?: number | undefined;
  /**
   * Rows done (completed + failed) the chunk last reported. When a poll finds a quarter of the
   * batch's rows done since, the activity returns early so that the job's progress follows the
   * polls: at most four such wakes per batch, so the history stays small.
   */
  readonly reportedDone?: number | undefined;
  /**
   * A webhook's confirming wait: after the first poll (at once), this many more `minDelayMs`
   * apart while the batch runs (the hint may come before `retrieve` shows the end); then the
   * running snapshot is returned, with the schedule's next poll, instead of refreshes and early
   * progress returns.
   */
  readonly quickPolls?: number | undefined;
  /** The job's metric labels (job_name, endpoint, model) for what the activity records. */
  readonly metricTags?: Record<string, string> | undefined;
}

/** The share of a batch's rows done since the last report that makes the wait report early. */
export const PROGRESS_STEP = 0.25;

/** Whether a running batch's counts moved enough since `reportedDone` to be worth a wake of the workflow. */
export function countsMoved(snapshot: BatchSnapshot, reportedDone: number | undefined): boolean {
  if (reportedDone === undefined || snapshot.total <= 0) return false;
  const done = snapshot.completed + snapshot.failed;
  return done - reportedDone >= Math.max(1, Math.ceil(snapshot.total * PROGRESS_STEP));
}

/** Marks the "still running" retries of `waitForBatch`; benign, so it is not logged as an error. */
export const BATCH_RUNNING_TYPE = FAILURE_TYPES.batchRunning;

export function createOpenAIBatchActivities(openai: () => OpenAI, crash: CrashHook) {
  return {
    /**
     * One poll of a batch. Terminal: returns it. Still running: throws a benign retryable failure
     * ("in_progress 1200/5000") whose `nextRetryDelay` comes from the polling schedule, so each poll
     * is one retry attempt with no history event. Returns a running snapshot at the first poll after
     * `refreshMs` since the activity was scheduled, so that the workflow can refresh its progress;
     * the next activity's first attempt then waits for the poll that was due (`nextPollAtMs`).
     */
    async waitForBatch(input: WaitForBatchInput): Promise<BatchSnapshot> {
      Context.current().heartbeat();
      const retryBy = lastRetryAtMs();
      const untilDeadline = input.deadlineMs === undefined ? Infinity : input.deadlineMs - Date.now();
      const dueIn = Math.min((input.nextPollAtMs ?? 0) - Date.now(), untilDeadline, retryBy - Date.now());
      if (activityInfo().attempt === 1 && dueIn > 50) {
        // First attempt after a progress refresh: the last poll was moments ago; keep the schedule.
        throw stillRunning(`waiting ${Math.round(dueIn / 1000)} s for the next poll`, dueIn);
      }
      const batch = await callOpenAI('batches.retrieve', () => openai().batches.retrieve(input.batchId), {
        'openai.batch.id': input.batchId,
      }).catch((err: unknown) => {
        throw retryWithinBound(err, retryBy);
      });
      const snapshot = toSnapshot(batch);
      recordPoll(snapshot.status, pastDeadline(snapshot, input.deadlineMs, Date.now()), input.metricTags);
      crash('during-poll');
      if (snapshot.terminal) return snapshot;
      const now = Date.now();
      if (input.deadlineMs !== undefined && now >= input.deadlineMs) return { ...snapshot, deadlineReached: true };
      let delay = nextPollDelayMs(pollObservation(snapshot, now, activityInfo().scheduledTimestampMs), input.schedule);
      if (input.deadlineMs !== undefined) delay = Math.min(delay, input.deadlineMs - now);
      if (input.quickPolls !== undefined) {
        // Confirming a webhook's hint: the quick polls used up, the schedule takes over again.
        if (activityInfo().attempt > input.quickPolls) return { ...snapshot, nextPollAtMs: now + delay };
        delay = Math.min(delay, input.schedule.minDelayMs);
      } else if (
        // Past the refresh interval, or with a quarter of the rows done since the last report, hand
        // the snapshot to the workflow (one wake, no extra poll).
        now - activityInfo().scheduledTimestampMs >= input.refreshMs ||
        countsMoved(snapshot, input.reportedDone)
      )
        return { ...snapshot, nextPollAtMs: now + delay };
      // A retry due after the schedule-to-close bound is not made: Temporal would fail the wait
      // (and the chunk) with the batch still running. Poll sooner; with no room left, wake the workflow.
      if (retryBy - now < delay) {
        if (retryBy - now < MIN_RETRY_ROOM_MS) return { ...snapshot, nextPollAtMs: now + delay };
        delay = retryBy - now;
      }
      throw stillRunning(
        `${snapshot.status} ${snapshot.completed + snapshot.failed}/${snapshot.total}`,
        delay,
        snapshot,
      );
    },

    /** Asks OpenAI to cancel a batch; a batch already terminal is left as it is. */
    async cancelBatch(input: { batchId: string }): Promise<BatchSnapshot> {
      const retrieve = async () =>
        toSnapshot(
          await callOpenAI('batches.retrieve', () => openai().batches.retrieve(input.batchId), {
            'openai.batch.id': input.batchId,
          }),
        );
      const current = await retrieve();
      if (current.terminal || current.status === 'cancelling') return current;
      try {
        return toSnapshot(
          await callOpenAI('batches.cancel', () => openai().batches.cancel(input.batchId), {
            'openai.batch.id': input.batchId,
          }),
        );
      } catch (err) {
        // The batch may have ended between the two calls (OpenAI then refuses the cancel): that is no failure.
        const now = await retrieve().catch(() => undefined);
        if (now && (now.terminal || now.status === 'cancelling')) return now;
        throw err;
      }
    },

    /** Deletes a file at OpenAI (a chunk's input that no batch will use); one already gone is no failure. */
    async deleteFile(input: { fileId: string }): Promise<void> {
      await deleteFileQuietly(openai(), input.fileId);
    },

    /**
     * Deletes every batch file named `filename` uploaded since `notBeforeMs`: the input of a chunk
     * that ended with no batch (its file id may never have been reported). Returns how many.
     */
    async deleteFilesNamed(input: DeleteFilesNamedInput): Promise<number> {
      const files = await filesNamed(openai(), input.filename, input.notBeforeMs);
      for (const file of files) await deleteFileQuietly(openai(), file.id);
      return files.length;
    },
  };
}

/** Input of `deleteFilesNamed`. */
export interface DeleteFilesNamedInput {
  /** The file name the chunk uploaded under (`chunkInputFilename`). */
  readonly filename: string;
  /** Epoch ms before which the chunk cannot have uploaded (the job run's start). */
  readonly notBeforeMs: number;
}

/** OpenAI's completion window: a batch still running after it is overdue. */
const COMPLETION_WINDOW_MS = 24 * 3_600_000;

/** Whether a running batch is past its job's deadline or its 24 h completion window. */
export function pastDeadline(snapshot: BatchSnapshot, deadlineMs: number | undefined, nowMs: number): boolean {
  if (snapshot.terminal) return false;
  return (deadlineMs !== undefined && nowMs >= deadlineMs) || nowMs >= snapshot.createdAtMs + COMPLETION_WINDOW_MS;
}

/** Room kept before the wait activity's schedule-to-close bound for the server to start a retry. */
const BOUND_MARGIN_MS = 60_000;
/** Below this room before the bound, the wait returns to the workflow instead of retrying. */
const MIN_RETRY_ROOM_MS = 1_000;

/** The latest time the current wait activity's next attempt may be due (its schedule-to-close bound, less a margin). */
function lastRetryAtMs(): number {
  const info = activityInfo();
  return info.scheduleToCloseTimeoutMs > 0
    ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - BOUND_MARGIN_MS
    : Infinity;
}

/**
 * A retryable failure whose `nextRetryDelay` (a 429's `retry-after`) would land after `retryBy`,
 * moved to `retryBy`, so that Temporal retries it instead of failing the wait.
 */
function retryWithinBound(err: unknown, retryBy: number): unknown {
  if (!(err instanceof ApplicationFailure) || err.nonRetryable || typeof err.nextRetryDelay !== 'number') return err;
  const room = retryBy - Date.now();
  if (err.nextRetryDelay <= room || room < MIN_RETRY_ROOM_MS) return err;
  return ApplicationFailure.create({
    message: err.message,
    ...(err.type ? { type: err.type } : {}),
    nonRetryable: false,
    nextRetryDelay: Math.round(room),
    details: err.details ?? [],
    ...(err.cause ? { cause: err.cause } : {}),
  });
}

/** The benign "not yet" failure of the infrequent-polling pattern: one retry is one poll. */
function stillRunning(message: string, delayMs: number, snapshot?: BatchSnapshot): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: BATCH_RUNNING_TYPE,
    nonRetryable: false,
    nextRetryDelay: Math.max(10, Math.round(delayMs)),
    category: ApplicationFailureCategory.BENIGN,
    details: snapshot
      ? [{ status: snapshot.status, completed: snapshot.completed, failed: snapshot.failed, total: snapshot.total }]
      : [],
  });
}

/**
 * What the schedule is told of a running batch. A cancelling batch's schedule runs from when this
 * wait began (right after the cancel), not from the batch's creation: a batch cancelled after an
 * hour is then polled in seconds, so a cancel acts at once instead of after the next long poll.
 */
export function pollObservation(snapshot: BatchSnapshot, nowMs: number, waitStartedAtMs: number): PollObservation {
  const since =
    snapshot.status === 'cancelling' ? Math.max(snapshot.createdAtMs, waitStartedAtMs) : snapshot.createdAtMs;
  return {
    elapsedMs: nowMs - since,
    status: snapshot.status,
    done: snapshot.completed + snapshot.failed,
    total: snapshot.total,
  };
}

/** When a terminal batch ended, as OpenAI recorded it (absent while it runs). */
function endedAt(batch: OpenAI.Batches.Batch): { endedAtMs?: number } {
  const at = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at;
  return isTerminalStatus(batch.status) && typeof at === 'number' ? { endedAtMs: at * 1000 } : {};
}

/** The workflows' view of a batch object. */
export function toSnapshot(batch: OpenAI.Batches.Batch): BatchSnapshot {
  const counts = batch.request_counts;
  return {
    batchId: batch.id,
    status: batch.status,
    terminal: isTerminalStatus(batch.status),
    createdAtMs: batch.created_at * 1000,
    ...endedAt(batch),
    total: counts?.total ?? 0,
    completed: counts?.completed ?? 0,
    failed: counts?.failed ?? 0,
    outputFileId: batch.output_file_id || undefined,
    errorFileId: batch.error_file_id || undefined,
    errors: batch.errors?.data?.map((e) => ({
      code: e.code,
      // OpenAI quotes what it was given: a key pasted into a field would reach history and results.
      message: e.message === undefined ? undefined : redactKeys(e.message),
      line: e.line ?? null,
      param: e.param ?? null,
    })),
  };
}
