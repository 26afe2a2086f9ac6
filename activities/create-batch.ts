import { FAILURE_TYPES } from '../common/failures.ts';
import { activityInfo, Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import OpenAI from 'openai';
import { callOpenAI } from '../src/openai/errors.ts';
import type { CrashHook } from './crash-point.ts';
import { toSnapshot, type BatchSnapshot } from './openai-batches.ts';
import { scanForKey, type KeyScan } from './batch-key-scan.ts';

/** Input of `createBatch`. */
export interface CreateBatchInput {
  readonly jobId: string;
  readonly round: number;
  readonly chunk: number;
  readonly inputFileId: string;
  readonly endpoint: string;
  /** One per submission attempt: `token_limit_exceeded` resubmits with a new key. */
  readonly idempotencyKey: string;
  /**
   * Epoch ms (Temporal's clock) of the first try to create a batch with this key: no batch with
   * the key can be older, so the listing stops there (less {@link CLOCK_SKEW_MS}). Older workflows
   * pass the job's start, which is earlier and so also safe.
   */
  readonly notBeforeMs: number;
  /** Only look for an existing batch; never create one (used after a cancelled create). */
  readonly adoptOnly?: boolean;
  /** OpenAI deletes the batch's output and error files this many seconds after their creation. */
  readonly outputExpiresAfterSeconds?: number | undefined;
}

/** How far OpenAI's clock may be behind Temporal's; the listing looks this much further back. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** The SDK gives up on a `batches.create` after this long, so an attempt's create ends by then. */
export const CREATE_REQUEST_TIMEOUT_MS = 15_000;
/** An attempt sends its create only this soon after it started (by its own clock), never later. */
export const CREATE_SEND_WINDOW_MS = 10_000;
/** How long after the client gave up a create may still be carried out at OpenAI (assumed). */
export const CREATE_LANDING_GRACE_MS = 5_000;
/**
 * After this long from its own start, no create sent by an attempt that started before it can
 * still appear at OpenAI: its send window, its request timeout and the landing grace.
 */
export const CREATE_SETTLE_MS = CREATE_SEND_WINDOW_MS + CREATE_REQUEST_TIMEOUT_MS + CREATE_LANDING_GRACE_MS;

/**
 * The windows of `createBatch`'s exactly-once protocol: a worker option (never workflow input),
 * the same on every worker of a task queue. Shorter values make retries after an uncertain create
 * faster, at the cost of assuming OpenAI carries out a create sooner after the client gave up.
 */
export interface CreateBatchTiming {
  /** An attempt sends its create only this soon after it started. @default 10_000 */
  readonly sendWindowMs?: number | undefined;
  /** The SDK gives up on one `batches.create` after this long. @default 15_000 */
  readonly requestTimeoutMs?: number | undefined;
  /** How long after the client gave up a create may still land at OpenAI (assumed). @default 5_000 */
  readonly landingGraceMs?: number | undefined;
}

/** The longest settle wait (sum of the windows) that fits the create activity's 5-minute bound with its listing. */
export const MAX_CREATE_SETTLE_MS = 120_000;

/** The windows resolved from the worker's options (defaults for the ones not given), with their settle wait. */
export interface ResolvedCreateBatchTiming {
  readonly sendWindowMs: number;
  readonly requestTimeoutMs: number;
  readonly landingGraceMs: number;
  /** `sendWindowMs + requestTimeoutMs + landingGraceMs`. */
  readonly settleMs: number;
}

/** Resolves (and checks) the worker's `createBatchTiming`; a bad value throws, naming the option and the fix. */
export function resolveCreateBatchTiming(timing: CreateBatchTiming = {}): ResolvedCreateBatchTiming {
  const pick = (name: keyof CreateBatchTiming, fallback: number): number => {
    const value = timing[name] ?? fallback;
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`createBatchTiming.${name} must be a positive whole number of milliseconds (got ${value})`);
    return value;
  };
  const sendWindowMs = pick('sendWindowMs', CREATE_SEND_WINDOW_MS);
  const requestTimeoutMs = pick('requestTimeoutMs', CREATE_REQUEST_TIMEOUT_MS);
  const landingGraceMs = pick('landingGraceMs', CREATE_LANDING_GRACE_MS);
  const settleMs = sendWindowMs + requestTimeoutMs + landingGraceMs;
  if (settleMs > MAX_CREATE_SETTLE_MS)
    throw new TypeError(
      `createBatchTiming: sendWindowMs + requestTimeoutMs + landingGraceMs is ${settleMs} ms; ` +
        `keep it at most ${MAX_CREATE_SETTLE_MS} ms so that a create attempt ends within its 5-minute bound`,
    );
  return { sendWindowMs, requestTimeoutMs, landingGraceMs, settleMs };
}

/** The benign retry after an attempt that only made sure no earlier create can still land. */
export const CREATE_SETTLED_TYPE = FAILURE_TYPES.createSettled;

/** What an attempt of `createBatch` leaves in its heartbeat details for the next attempt. */
interface CreateHeartbeat {
  /** No attempt numbered below this can still create a batch: the next one need not wait. */
  readonly settledBefore: number;
  /** How far this attempt's search for the key got: the next attempt resumes it. */
  readonly scan?: KeyScan | undefined;
}

/**
 * `createBatch`: creates the chunk's batch exactly once, by its idempotency key, and adopts one
 * that an earlier attempt created. See the README of this folder for what is guaranteed.
 */
export function createCreateBatchActivity(openai: () => OpenAI, crash: CrashHook, timing: CreateBatchTiming = {}) {
  const { sendWindowMs, requestTimeoutMs, settleMs } = resolveCreateBatchTiming(timing);
  return {
    /**
     * The newest batch a chunk workflow made (any submission attempt), found by its idempotency
     * key's prefix: for the recovery of a chunk that ended before it reported its batch. It first
     * waits until a create the ended chunk had in flight must have landed (the settle wait).
     */
    async findChunkBatch(input: FindChunkBatchInput): Promise<FoundChunkBatch | null> {
      const context = Context.current();
      const startedAt = performance.now();
      const everyMs = Math.max(200, Math.min(1_000, (activityInfo().heartbeatTimeoutMs ?? 3_000) / 3));
      const beat = setInterval(() => context.heartbeat(), everyMs);
      try {
        await sleepIgnoringCancel(settleMs, startedAt);
      } finally {
        clearInterval(beat);
      }
      const found = await findBatches(openai(), (key) => key.startsWith(input.keyPrefix), input.notBeforeMs);
      const batch = chunkBatchOf(found);
      // A duplicate of the same key still running (its create raced the kept one) would bill with
      // no collector: the recovery collects `batch` only, so every other running match is cancelled.
      for (const other of found) if (other !== batch) await cancelDuplicate(openai(), other);
      return batch ? { batchId: batch.id, status: batch.status } : null;
    },

    async createBatch(input: CreateBatchInput): Promise<BatchSnapshot | null> {
      const context = Context.current();
      const info = activityInfo();
      const startedAt = performance.now();
      let settledBefore = settledBeforeFrom(info.heartbeatDetails);
      let scan = scanFrom(info.heartbeatDetails);
      const heartbeat = (): void => context.heartbeat({ settledBefore, scan } satisfies CreateHeartbeat);
      // The searches before a create resume where the previous attempt's search got.
      const search = async (): Promise<OpenAI.Batches.Batch | undefined> =>
        await adoptOldest(openai(), input, scan, (next) => {
          scan = next;
          heartbeat();
        });
      const everyMs = Math.max(200, Math.min(1_000, (info.heartbeatTimeoutMs ?? 3_000) / 3));
      const timer = setInterval(heartbeat, everyMs);
      heartbeat();
      // A cancellation must not cut this short: a create may already be at OpenAI, and the
      // workflow (which waits for this activity to end) needs its answer, or the proof there is none.
      // Only the workflow's own cancel answers null ("no batch, none can appear"). Any other abort
      // (the worker shutting down, a heartbeat timeout, a pause) is not the chunk being cancelled:
      // the attempt fails as retryable, and the next one, on a live worker, carries on.
      const stopped = (): boolean => context.cancellationSignal.aborted;
      const cancelled = (): boolean => stopped() && context.cancellationDetails?.cancelRequested === true;
      const notCancelled = (): ApplicationFailure =>
        ApplicationFailure.retryable(
          `createBatch stopped (${abortReason(context)}) before sending a create; the next attempt carries on`,
          CREATE_SETTLED_TYPE,
        );
      let sent = false;
      try {
        if (input.adoptOnly || settledBefore < info.attempt) {
          // An earlier attempt (or the create this search follows) may still be sending a create,
          // from a worker that is merely cut off from Temporal: wait until it must have landed.
          // An attempt that waits never creates, so every create is sent within the send window
          // of its attempt's start, which is what makes this wait long enough.
          context.log.info('createBatch waits until no earlier create can still land', {
            attempt: info.attempt,
            waitMs: settleMs,
            adoptOnly: Boolean(input.adoptOnly),
          });
          await sleepIgnoringCancel(settleMs, startedAt);
          settledBefore = info.attempt;
          heartbeat();
          const found = await search();
          if (found) return { ...toSnapshot(found), adopted: true };
          if (input.adoptOnly || cancelled()) return null;
          if (stopped()) throw notCancelled();
          throw settledRetry('no batch carries this key and none can still appear; the next attempt creates it');
        }
        const found = await search();
        if (found) return { ...toSnapshot(found), adopted: true };
        // Nothing exists, nothing is in flight: cancelled now, there is nothing to create or cancel.
        if (cancelled()) return null;
        if (stopped()) throw notCancelled();
        if (performance.now() - startedAt > sendWindowMs)
          throw settledRetry('the search outlasted the send window; the next attempt creates the batch');
        let batch: OpenAI.Batches.Batch;
        // Test-only: the process dies while its create is at OpenAI (a no-op in production).
        const dying = setTimeout(() => crash('during-create'), 300);
        sent = true;
        try {
          batch = await callOpenAI('batches.create', () =>
            openai().batches.create(
              {
                input_file_id: input.inputFileId,
                endpoint: input.endpoint as OpenAI.Batches.BatchCreateParams['endpoint'],
                completion_window: '24h',
                ...(input.outputExpiresAfterSeconds
                  ? { output_expires_after: { anchor: 'created_at', seconds: input.outputExpiresAfterSeconds } }
                  : {}),
                metadata: {
                  job_id: input.jobId.slice(0, 512),
                  round: String(input.round),
                  chunk: String(input.chunk),
                  idempotency_key: input.idempotencyKey.slice(0, 512),
                },
              },
              { timeout: requestTimeoutMs },
            ),
          );
        } finally {
          clearTimeout(dying);
        }
        // The batch exists: whatever happens next, the next attempt's search finds it.
        settledBefore = info.attempt + 1;
        heartbeat();
        crash('after-create');
        // Defence in depth: if a create this workflow could not wait for landed anyway, keep the oldest.
        const oldest = await adoptOldest(openai(), input);
        if (oldest && oldest.id !== batch.id) return { ...toSnapshot(oldest), adopted: true };
        return { ...toSnapshot(oldest ?? batch), adopted: false };
      } catch (err) {
        // Failed before its create was sent, or OpenAI refused it: nothing of this attempt is in
        // flight, so (if nothing earlier was either) the next attempt need not wait.
        if (settledBefore >= info.attempt && (!sent || refusedCreate(err))) {
          settledBefore = info.attempt + 1;
          heartbeat();
        }
        throw err;
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** Input of `findChunkBatch`. */
export interface FindChunkBatchInput {
  /** The chunk's idempotency keys all start with this (`<jobId>:<jobRunId>:r<round>:c<chunk>:`). */
  readonly keyPrefix: string;
  /** Epoch ms before which no batch of the chunk can exist (the job's start). */
  readonly notBeforeMs: number;
}

/** The batch (id and status) a chunk made, found at OpenAI by its metadata. */
export interface FoundChunkBatch {
  readonly batchId: string;
  readonly status: string;
}

/** The benign retry of an attempt that made sure nothing is in flight but did not create. */
function settledRetry(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: CREATE_SETTLED_TYPE,
    nonRetryable: false,
    category: ApplicationFailureCategory.BENIGN,
  });
}

/** Why an activity's cancellation signal fired, for a log line or a failure message. */
function abortReason(context: Context): string {
  const details = context.cancellationDetails;
  if (!details) return 'aborted';
  const reasons = (['cancelRequested', 'workerShutdown', 'timedOut', 'paused', 'reset', 'notFound'] as const).filter(
    (k) => details[k],
  );
  return reasons.join(', ') || 'aborted';
}

/** Sleeps until `ms` after `startedAt` (a `performance.now()` reading), whatever the cancellation. */
async function sleepIgnoringCancel(ms: number, startedAt: number): Promise<void> {
  const left = ms - (performance.now() - startedAt);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

function scanFrom(details: unknown): KeyScan | undefined {
  const scan = (details as Partial<CreateHeartbeat> | undefined)?.scan;
  return scan && typeof scan.key === 'string' && typeof scan.topCreatedAt === 'number' ? scan : undefined;
}

function settledBeforeFrom(details: unknown): number {
  const value = (details as Partial<CreateHeartbeat> | undefined)?.settledBefore;
  return typeof value === 'number' ? value : 1;
}

/** A create refused with a client error (400, 401, 404, 429): OpenAI answered, and created nothing. */
function refusedCreate(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof OpenAI.APIError && typeof e.status === 'number')
      return e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 409;
  }
  return false;
}

/**
 * Every batch carrying the key, newest first, listed back to the key's first try less the clock
 * skew. If there are several (a create no attempt could wait for landed late), cancels all but the
 * oldest and returns the oldest, so that at most one batch per key keeps running.
 */
async function adoptOldest(
  client: OpenAI,
  input: CreateBatchInput,
  previous?: KeyScan,
  progress?: (scan: KeyScan) => void,
): Promise<OpenAI.Batches.Batch | undefined> {
  const matches = progress
    ? await scanForKey(
        client,
        input.idempotencyKey,
        Math.floor((input.notBeforeMs - CLOCK_SKEW_MS) / 1000),
        previous,
        progress,
      )
    : await findBatchesByKey(client, input.idempotencyKey, input.notBeforeMs);
  const oldest = matches[matches.length - 1];
  for (const extra of matches.slice(0, -1)) await cancelDuplicate(client, extra);
  return oldest;
}

/** Batches carrying `key`, newest first, heartbeating per page, stopping before `notBeforeMs - CLOCK_SKEW_MS`. */
export async function findBatchesByKey(
  client: OpenAI,
  key: string,
  notBeforeMs: number,
): Promise<OpenAI.Batches.Batch[]> {
  return await findBatches(client, (k) => k === key, notBeforeMs);
}

/** Batch statuses after which nothing more runs or bills. */
const TERMINAL: readonly string[] = ['completed', 'failed', 'expired', 'cancelled'];

/** Batches whose idempotency key `matches`, newest first, as {@link findBatchesByKey}. */
async function findBatches(
  client: OpenAI,
  matches: (key: string) => boolean,
  notBeforeMs: number,
): Promise<OpenAI.Batches.Batch[]> {
  const notBeforeSeconds = Math.floor((notBeforeMs - CLOCK_SKEW_MS) / 1000);
  const context = Context.current();
  return await callOpenAI('batches.list', async () => {
    const found: OpenAI.Batches.Batch[] = [];
    for await (const batch of client.batches.list({ limit: 100 })) {
      context.heartbeat();
      if (batch.created_at < notBeforeSeconds) break;
      const key = batch.metadata?.['idempotency_key'];
      if (typeof key === 'string' && matches(key)) found.push(batch);
    }
    return found;
  });
}

/**
 * The batch a chunk's recovery collects among its batches (newest first): those of its latest
 * attempt (`:a<n>` ends the key), and of those the oldest still running (the one `createBatch`
 * keeps when a key has duplicates), else the newest.
 */
export function chunkBatchOf(found: readonly OpenAI.Batches.Batch[]): OpenAI.Batches.Batch | undefined {
  const attemptOf = (b: OpenAI.Batches.Batch): number =>
    Number(/:a(\d+)$/.exec(String(b.metadata?.['idempotency_key'] ?? ''))?.[1] ?? 0);
  const latest = Math.max(...found.map(attemptOf));
  const ofLatest = found.filter((b) => attemptOf(b) === latest);
  return ofLatest.findLast((b) => !TERMINAL.includes(b.status)) ?? ofLatest[0];
}

async function cancelDuplicate(client: OpenAI, batch: OpenAI.Batches.Batch): Promise<void> {
  if (['completed', 'failed', 'expired', 'cancelled', 'cancelling'].includes(batch.status)) return;
  await callOpenAI('batches.cancel', async () => {
    try {
      await client.batches.cancel(batch.id);
    } catch (err) {
      // 409: it ended meanwhile.
      if (!(err instanceof OpenAI.APIError && err.status === 409)) throw err;
    }
  });
}
