import type { BatchStatus } from '../../common/batch-status.ts';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { chunkWorkflowId } from '../../common/job-options.ts';
import { etaMs } from '../../workflows/job/job-state.ts';
import type { ChunkProgress, JobProgress } from '../../common/job-types.ts';
import { progressQuery } from '../../common/messages.ts';

/** The counts a running batch's last poll saw, as the wait activity records them. */
interface PollDetails {
  readonly status: BatchStatus;
  readonly completed: number;
  readonly failed: number;
  readonly total: number;
}

/**
 * The job's progress with each waiting batch's counts as of its latest poll.
 *
 * A chunk reports its counts to the job at each progress refresh (every 2 hours by default) and
 * whenever a poll finds another tenth of its batch done, so the `progress` query can lag the
 * polls by up to a tenth of a batch. Every poll between reports is a retry of the chunk's pending wait
 * activity, whose last (benign) failure carries the batch's status and counts: this reads them
 * with `describe`, which costs no Temporal action. With a custom payload codec the details cannot
 * be read here, and the refresh values are shown.
 */
export async function getLiveJobProgress(client: Client, workflowId: string): Promise<JobProgress> {
  const progress = await client.workflow.getHandle(workflowId).query(progressQuery);
  if (progress.phase !== 'running' || progress.active.length === 0) return progress;
  const active = await Promise.all(progress.active.map((chunk) => withLatestPoll(client, progress.jobId, chunk)));
  const gained = active.reduce(
    (n, c, i) => n + (c.round === progress.round ? c.done - (progress.active[i]?.done ?? c.done) : 0),
    0,
  );
  if (gained === 0) return { ...progress, active };
  const rowsDone = progress.rowsDone + gained;
  const roundRequests = progress.roundRequests ?? progress.totalRequests;
  const now = Date.now();
  // The counts are as of the latest poll, not as of now: the rate is taken up to then.
  const observedAtMs = Math.max(progress.observedAtMs ?? 0, ...active.map((c) => c.observedAtMs ?? 0)) || now;
  return {
    ...progress,
    active,
    rowsDone,
    observedAtMs,
    percent: roundRequests > 0 ? Math.min(100, Math.floor((100 * rowsDone) / roundRequests)) : progress.percent,
    etaMs:
      progress.roundStartedAtMs === undefined
        ? progress.etaMs
        : etaMs(rowsDone, roundRequests, progress.roundStartedAtMs, observedAtMs, now),
  };
}

async function withLatestPoll(client: Client, jobId: string, chunk: ChunkProgress): Promise<ChunkProgress> {
  if (chunk.phase !== 'waiting' || !chunk.batchId) return chunk;
  const described = await client.workflow
    .getHandle(chunkWorkflowId(jobId, chunk.round, chunk.index))
    .describe()
    .catch(() => undefined);
  const wait = described?.raw.pendingActivities?.find((a) => a.activityType?.name === 'waitForBatch');
  const payload = wait?.lastFailure?.applicationFailureInfo?.details?.payloads?.[0];
  if (!payload) return chunk;
  let details: PollDetails | undefined;
  try {
    details = defaultPayloadConverter.fromPayload<PollDetails>(payload);
  } catch {
    return chunk;
  }
  const done = Math.min(details.completed + details.failed, chunk.total);
  const polledAt = wait?.lastAttemptCompleteTime ? timestampMs(wait.lastAttemptCompleteTime) : undefined;
  return done >= chunk.done
    ? { ...chunk, batchStatus: details.status, done, ...(polledAt ? { observedAtMs: polledAt } : {}) }
    : chunk;
}

/** A protobuf timestamp in epoch ms. */
function timestampMs(t: { seconds?: { toNumber(): number } | number | null; nanos?: number | null }): number {
  const seconds = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}
