import { proxyActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../activities/create-batch-activities.ts';
import type { ChunkInput } from '../../common/job-types.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../common/failures.ts';
import { waitActivityBoundMs, waitSchedule } from '../../common/webhook-wait.ts';

/** Retries of the quick calls (create, cancel): shared by every proxy of them. */
export const QUICK_RETRY = { initialInterval: '1 second', maximumInterval: '1 minute' } as const;

/**
 * The chunk's activity proxies: `io` for uploads and collects (long, streamed), `quick` for
 * single API calls, `poll` for the wait (each retry is one poll, see `waitForBatch`). The create
 * call has its own proxy in `submit.ts`.
 */
export function chunkActivities(input: ChunkInput) {
  const heartbeatTimeout = input.wait.heartbeatTimeoutMs;
  const io = proxyActivities<BatchActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    retry: { ...QUICK_RETRY, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
  });
  const quick = proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout,
    retry: QUICK_RETRY,
  });
  const pollWithin = (refreshMs: number) =>
    proxyActivities<BatchActivities>({
      startToCloseTimeout: '2 minutes',
      heartbeatTimeout,
      // The bound wakes the workflow if the worker was down.
      scheduleToCloseTimeout: waitActivityBoundMs(refreshMs),
      retry: { initialInterval: input.wait.minPollMs, backoffCoefficient: 1, maximumInterval: input.wait.maxPollMs },
      summary: 'wait for the batch',
    });
  const poll = pollWithin(input.wait.progressRefreshMs);
  // With `wait.webhooks` the refresh is stretched: the bound follows it (patch webhook-wake-confirms).
  const stretchedRefreshMs = waitSchedule(input.wait).refreshMs;
  const pollStretched = stretchedRefreshMs === input.wait.progressRefreshMs ? poll : pollWithin(stretchedRefreshMs);
  return { io, quick, poll, pollStretched };
}

/** What {@link chunkActivities} returns. */
export type ChunkActivities = ReturnType<typeof chunkActivities>;
