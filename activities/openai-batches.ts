import { activityInfo, Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type OpenAI from 'openai';
import { callOpenAI } from '../src/openai/errors.ts';
import { nextPollDelayMs, type PollScheduleOptions } from '../common/poll-schedule.ts';
import type { CrashHook } from './crash-point.ts';

/** Input of `createBatch`. */
export interface CreateBatchInput {
  readonly jobId: string;
  readonly round: number;
  readonly chunk: number;
  readonly inputFileId: string;
  readonly endpoint: string;
  /** One per submission attempt: `token_limit_exceeded` resubmits with a new key. */
  readonly idempotencyKey: string;
  /** Epoch ms; batches created earlier are never adopted (and the listing stops there). */
  readonly notBeforeMs: number;
  /** Only look for an existing batch; never create one (used after a cancelled create). */
  readonly adoptOnly?: boolean;
  /** OpenAI deletes the batch's output and error files this many seconds after their creation. */
  readonly outputExpiresAfterSeconds?: number | undefined;
}

/** A batch as the workflows see it: status, counts and file ids, never contents. */
export interface BatchSnapshot {
  readonly batchId: string;
  readonly status: string;
  readonly terminal: boolean;
  readonly createdAtMs: number;
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
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** Marks the "still running" retries of `waitForBatch`; benign, so it is not logged as an error. */
export const BATCH_RUNNING_TYPE = 'OpenAIBatch.BatchRunning';

export function createOpenAIBatchActivities(openai: () => OpenAI, crash: CrashHook) {
  return {
    /**
     * Creates the chunk's batch exactly once: first looks for a batch carrying the same
     * idempotency key (newest first, stopping at the job's start) and adopts it, so a worker
     * killed after OpenAI created the batch but before Temporal recorded it creates no second one.
     */
    async createBatch(input: CreateBatchInput): Promise<BatchSnapshot | null> {
      Context.current().heartbeat();
      const existing = await findBatchByKey(openai(), input.idempotencyKey, input.notBeforeMs);
      if (existing) return { ...toSnapshot(existing), adopted: true };
      if (input.adoptOnly) return null;
      const batch = await callOpenAI('batches.create', () =>
        openai().batches.create({
          input_file_id: input.inputFileId,
          endpoint: input.endpoint as OpenAI.Batches.BatchCreateParams['endpoint'],
          completion_window: '24h',
          ...(input.outputExpiresAfterSeconds ? { output_expires_after: { anchor: 'created_at', seconds: input.outputExpiresAfterSeconds } } : {}),
          metadata: {
            job_id: input.jobId.slice(0, 512),
            round: String(input.round),
            chunk: String(input.chunk),
            idempotency_key: input.idempotencyKey.slice(0, 512),
          },
        }),
      );
      crash('after-create');
      return { ...toSnapshot(batch), adopted: false };
    },

    /**
     * One poll of a batch. Terminal: returns it. Still running: throws a benign retryable failure
     * ("in_progress 1200/5000") whose `nextRetryDelay` comes from the polling schedule, so each poll
     * is one retry attempt with no history event. Returns a running snapshot at the first poll after
     * `refreshMs` since the activity was scheduled, so that the workflow can refresh its progress;
     * the next activity's first attempt then waits for the poll that was due (`nextPollAtMs`).
     */
    async waitForBatch(input: WaitForBatchInput): Promise<BatchSnapshot> {
      Context.current().heartbeat();
      const untilDeadline = input.deadlineMs === undefined ? Infinity : input.deadlineMs - Date.now();
      const dueIn = Math.min((input.nextPollAtMs ?? 0) - Date.now(), untilDeadline);
      if (activityInfo().attempt === 1 && dueIn > 50) {
        // First attempt after a progress refresh: the last poll was moments ago; keep the schedule.
        throw stillRunning(`waiting ${Math.round(dueIn / 1000)} s for the next poll`, dueIn);
      }
      const batch = await callOpenAI('batches.retrieve', () => openai().batches.retrieve(input.batchId));
      const snapshot = toSnapshot(batch);
      crash('during-poll');
      if (snapshot.terminal) return snapshot;
      const now = Date.now();
      if (input.deadlineMs !== undefined && now >= input.deadlineMs) return { ...snapshot, deadlineReached: true };
      let delay = nextPollDelayMs(
        { elapsedMs: now - snapshot.createdAtMs, status: snapshot.status, done: snapshot.completed + snapshot.failed, total: snapshot.total },
        input.schedule,
      );
      if (input.deadlineMs !== undefined) delay = Math.min(delay, input.deadlineMs - now);
      // Past the refresh interval, hand the snapshot to the workflow (one wake, no extra poll).
      if (now - activityInfo().scheduledTimestampMs >= input.refreshMs) return { ...snapshot, nextPollAtMs: now + delay };
      throw stillRunning(`${snapshot.status} ${snapshot.completed + snapshot.failed}/${snapshot.total}`, delay, snapshot);
    },

    /** Asks OpenAI to cancel a batch; a batch already terminal is left as it is. */
    async cancelBatch(input: { batchId: string }): Promise<BatchSnapshot> {
      const current = toSnapshot(await callOpenAI('batches.retrieve', () => openai().batches.retrieve(input.batchId)));
      if (current.terminal || current.status === 'cancelling') return current;
      return toSnapshot(await callOpenAI('batches.cancel', () => openai().batches.cancel(input.batchId)));
    },
  };
}

/** The benign "not yet" failure of the infrequent-polling pattern: one retry is one poll. */
function stillRunning(message: string, delayMs: number, snapshot?: BatchSnapshot): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: BATCH_RUNNING_TYPE,
    nonRetryable: false,
    nextRetryDelay: Math.max(10, Math.round(delayMs)),
    category: ApplicationFailureCategory.BENIGN,
    details: snapshot ? [{ status: snapshot.status, completed: snapshot.completed, failed: snapshot.failed, total: snapshot.total }] : [],
  });
}

async function findBatchByKey(client: OpenAI, key: string, notBeforeMs: number): Promise<OpenAI.Batches.Batch | undefined> {
  // Clocks differ between Temporal and OpenAI; look a little before the job's start.
  const notBeforeSeconds = Math.floor((notBeforeMs - 600_000) / 1000);
  return await callOpenAI('batches.list', async () => {
    for await (const batch of client.batches.list({ limit: 100 })) {
      Context.current().heartbeat();
      if (batch.metadata?.['idempotency_key'] === key) return batch;
      if (batch.created_at < notBeforeSeconds) return undefined;
    }
    return undefined;
  });
}

function toSnapshot(batch: OpenAI.Batches.Batch): BatchSnapshot {
  const counts = batch.request_counts;
  return {
    batchId: batch.id,
    status: batch.status,
    terminal: TERMINAL.has(batch.status),
    createdAtMs: batch.created_at * 1000,
    total: counts?.total ?? 0,
    completed: counts?.completed ?? 0,
    failed: counts?.failed ?? 0,
    outputFileId: batch.output_file_id || undefined,
    errorFileId: batch.error_file_id || undefined,
    errors: batch.errors?.data?.map((e) => ({ code: e.code, message: e.message, line: e.line ?? null, param: e.param ?? null })),
  };
}
