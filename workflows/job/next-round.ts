// Starting a retry round: the finished chunks' retryable rows, planned as the next round.
import { log } from '@temporalio/workflow';
import type { RetryNowResult, RoundPlan } from '../../common/job-types.ts';
import type { JobRun } from './job-run.ts';
import { chunkCount, hasPendingRetries, pendingRetries, resultKey, retriedKeys } from './job-state.ts';
import { takeRetries } from './stored-results.ts';

/**
 * Plans a retry round from the finished chunks' retryable rows and makes it the current round.
 * Chunks of the previous round may still be running; their rows go to a later round.
 */
export async function startNextRound(run: JobRun): Promise<RetryNowResult | undefined> {
  if (run.state.stored) return await run.exclusive(() => startStoredRound(run));
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
  return begin(run, plan, pending.length);
}

/**
 * The same with the results in storage: the round takes the buffered results' retry files and the
 * stored parts with retryable rows as they are when it starts planning (results that finish
 * meanwhile stay pending for a later round). Exclusive with a part's store, so that every part it
 * reads is written.
 */
async function startStoredRound(run: JobRun): Promise<RetryNowResult | undefined> {
  const { state: s, job } = run;
  const stored = s.stored;
  if (!stored) return undefined;
  if (!hasPendingRetries(s)) return undefined;
  const take = takeRetries(s, stored, pendingRetries(s));
  const fromChunks = take.buffered.length + take.parts.reduce((n, p) => n + p.chunks, 0) + (take.range?.chunks ?? 0);
  const plan = await job.act.planRetryRound.executeWithOptions(
    { summary: `plan round ${s.round + 1} from the retryable rows of ${fromChunks} chunk(s)` },
    [
      {
        jobId: job.jobId,
        round: s.round + 1,
        endpoint: job.input.endpoint,
        retryUris: take.buffered.map((r) => r.retryUri as string),
        retryParts: take.parts.map((p) => p.part),
        ...(take.range ? { retryPartRange: { from: take.range.from, to: take.range.to } } : {}),
        limits: job.input.limits,
        prices: job.input.prices,
        chunksInStorage: true,
      },
    ],
  );
  if (!plan.chunkCount) return undefined;
  s.planPage = undefined;
  return begin(run, plan, fromChunks);
}

function begin(run: JobRun, plan: RoundPlan, fromChunks: number): RetryNowResult {
  const s = run.state;
  log.info('starting retry round', { round: s.round + 1, requests: plan.totalRequests });
  Object.assign(s, { round: s.round + 1, plan, nextChunk: 0, roundStartedAtMs: Date.now() });
  return { round: s.round, requests: plan.totalRequests, chunks: chunkCount(s), fromChunks };
}
