// Starting a retry round: the finished chunks' retryable rows, planned as the next round.
import { log } from '@temporalio/workflow';
import type { RetryNowResult } from '../../common/job-types.ts';
import type { JobRun } from './job-run.ts';
import { pendingRetries, resultKey, retriedKeys } from './job-state.ts';

/**
 * Plans a retry round from the finished chunks' retryable rows and makes it the current round.
 * Chunks of the previous round may still be running; their rows go to a later round.
 */
export async function startNextRound(run: JobRun): Promise<RetryNowResult | undefined> {
  const { state: s, job } = run;
  const pending = pendingRetries(s);
  if (pending.length === 0) return undefined;
  const plan = await job.act.planRetryRound.executeWithOptions(
    { summary: `plan round ${s.round + 1} from the retryable rows of ${pending.length} chunk(s)` },
    [
      {
        jobId: job.jobId,
        round: s.round + 1,
        endpoint: job.input.endpoint,
        retryUris: pending.map((r) => r.retryUri as string),
        limits: job.input.limits,
        prices: job.input.prices,
      },
    ],
  );
  s.retried = [...retriedKeys(s), ...pending.map((r) => resultKey(r.round, r.index))];
  if (plan.chunks.length === 0) return undefined;
  log.info('starting retry round', { round: s.round + 1, requests: plan.totalRequests });
  Object.assign(s, { round: s.round + 1, plan, nextChunk: 0, roundStartedAtMs: Date.now() });
  return { round: s.round, requests: plan.totalRequests, chunks: plan.chunks.length, fromChunks: pending.length };
}
