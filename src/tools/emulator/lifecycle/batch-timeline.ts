import type { BatchRecord } from '../state/records.ts';

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Where a batch stands at one instant, computed from its stored timestamps alone. */
export interface BatchMoment {
  status: BatchStatus;
  /** Milliseconds since the epoch of each phase that has begun, or null. */
  at: {
    in_progress: number | null;
    finalizing: number | null;
    completed: number | null;
    failed: number | null;
    expired: number | null;
    cancelling: number | null;
    cancelled: number | null;
  };
  expiresAtMs: number;
  /** Rows executed so far (whether they succeeded or failed). */
  processed: number;
  /** The terminal state the schedule has reached, whose files may still need writing. */
  terminal: { status: 'completed' | 'expired' | 'cancelled' | 'failed'; atMs: number; processed: number } | null;
}

/**
 * The state machine, as a pure function of the record and the clock. Nothing ticks: progress is
 * read off wall-clock time on every call, which is why a restarted emulator simply carries on.
 *
 * validating -> in_progress -> finalizing -> completed, with three ways out: failed (validation or
 * the enqueued-token limit), expired (the completion window passed first), cancelling -> cancelled.
 */
export function batchMoment(record: BatchRecord, nowMs: number): BatchMoment {
  const { plan, validation } = record;
  const created = record.createdAtMs;
  const expiresAtMs = created + plan.windowMs;
  // When the window ends the batch: never, in Azure mode (`expires_at` is still shown).
  const expiryMs = plan.neverExpires ? Infinity : expiresAtMs;
  const cancelAt = record.cancelRequestedAtMs;
  const at: BatchMoment['at'] = {
    in_progress: null,
    finalizing: null,
    completed: null,
    failed: null,
    expired: null,
    cancelling: null,
    cancelled: null,
  };
  const moment = (status: BatchStatus, processed: number, terminal: BatchMoment['terminal'] = null): BatchMoment => ({
    status,
    at,
    expiresAtMs,
    processed,
    terminal,
  });

  const validatedAt = validation ? Math.max(created + plan.validatingMs, validation.doneAtMs) : Infinity;

  if (validation && !validation.ok && (cancelAt === null || cancelAt >= validatedAt) && validatedAt <= expiryMs) {
    if (nowMs < validatedAt) return moment('validating', 0);
    at.failed = validatedAt;
    return moment('failed', 0, { status: 'failed', atMs: validatedAt, processed: 0 });
  }

  const total = validation?.ok ? validation.total : 0;
  const inProgressAt = validation?.ok ? validatedAt : Infinity;
  const durationMs = plan.rowsPerSecond === null ? 0 : Math.ceil((total / plan.rowsPerSecond) * 1000);
  const finalizingAt = inProgressAt + durationMs;
  const completedAt = finalizingAt + plan.finalizingMs;
  const rowsBy = (t: number): number => {
    if (t < inProgressAt) return 0;
    if (plan.rowsPerSecond === null) return total;
    return Math.min(total, Math.floor(((t - inProgressAt) * plan.rowsPerSecond) / 1000));
  };
  const stamp = (t: number): void => {
    if (t >= inProgressAt) at.in_progress = inProgressAt;
    if (t >= finalizingAt) at.finalizing = finalizingAt;
  };

  if (cancelAt !== null && cancelAt < completedAt && cancelAt < expiryMs) {
    const cancelledAt = cancelAt + plan.cancellingMs;
    stamp(Math.min(nowMs, cancelAt));
    at.cancelling = cancelAt;
    const processed = rowsBy(cancelAt);
    if (nowMs < cancelledAt) return moment('cancelling', processed);
    at.cancelled = cancelledAt;
    return moment('cancelled', processed, { status: 'cancelled', atMs: cancelledAt, processed });
  }

  if (expiryMs < completedAt) {
    if (nowMs < expiresAtMs) {
      stamp(nowMs);
      return moment(phaseAt(nowMs, inProgressAt, finalizingAt), rowsBy(nowMs));
    }
    stamp(expiresAtMs);
    at.expired = expiresAtMs;
    const processed = rowsBy(expiresAtMs);
    return moment('expired', processed, { status: 'expired', atMs: expiresAtMs, processed });
  }

  stamp(nowMs);
  if (nowMs < completedAt) return moment(phaseAt(nowMs, inProgressAt, finalizingAt), rowsBy(nowMs));
  at.completed = completedAt;
  return moment('completed', total, { status: 'completed', atMs: completedAt, processed: total });
}

function phaseAt(nowMs: number, inProgressAt: number, finalizingAt: number): BatchStatus {
  if (nowMs < inProgressAt) return 'validating';
  if (nowMs < finalizingAt) return 'in_progress';
  return 'finalizing';
}

/** How many of the first `processed` rows failed: `failedRows` is sorted, so a binary search. */
export function failedAmong(failedRows: readonly number[], processed: number): number {
  let lo = 0;
  let hi = failedRows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((failedRows[mid] ?? Infinity) < processed) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
