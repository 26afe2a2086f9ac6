import {
  CancellationScope,
  ContinueAsNew,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { JOB_STATUS } from '../../common/search-attributes.ts';
import { STATUS_ON_EVERY_END, UNRECORDED_ROWS_FAIL_JOB } from '../patches.ts';
import type { ExtendDeadlineRequest, JobInput, JobSummary } from '../../common/job-types.ts';
import {
  chunkDoneSignal,
  chunkProgressSignal,
  extendDeadlineUpdate,
  progressQuery,
  retryFailedRowsUpdate,
} from '../../common/messages.ts';
import { finishCancelled } from './cancel.ts';
import { fatalFailure, finishOnce, unrecordedRowsFailure } from './finish.ts';
import { JobRun, jobSettings, planJobRun } from './job-run.ts';
import { hasPendingRetries, planningProgress, type JobState } from './job-state.ts';
import { CLOSING, STILL_PLANNING, whyNoRetryNow } from './retry-now.ts';
import { runRound } from './round.ts';
import { startNextRound } from './next-round.ts';
import { type RefusableUpdate, updateRejected } from '../../common/failures.ts';

/**
 * A durable OpenAI batch job: plan the input into chunks, run each chunk as a child workflow
 * (a sliding window of `maxActiveBatches`), resubmit retryable rows in later rounds, finalize
 * `results.jsonl`, `failures.jsonl` and `report.json`, and return a small summary. Cancelled, it
 * cancels every active batch, finalizes what was done and ends cancelled.
 */
export async function openAIBatchJob(input: JobInput, resumed?: JobState): Promise<JobSummary> {
  const job = jobSettings(input);
  const { deadline, retryNow } = job;
  // Exists once the job is planned (or resumed after continue-as-new).
  let run = resumed ? new JobRun(job, resumed) : undefined;

  setHandler(progressQuery, () => run?.progress() ?? planningProgress(job.jobId));
  setHandler(chunkProgressSignal, (p) => run?.onChunkProgress(p));
  setHandler(chunkDoneSignal, (r) => run?.record(r));
  setHandler(retryFailedRowsUpdate, () => retryNow.request(), {
    validator: () => refuseIf('retryFailedRows', run ? whyNoRetryNow(run) : STILL_PLANNING),
  });
  setHandler(
    extendDeadlineUpdate,
    async (request) => {
      const extended = await deadline.extend(request.deadline, run?.activeIds ?? []);
      run?.publish();
      return extended;
    },
    {
      validator: (request) =>
        refuseIf(
          'extendDeadline',
          (run?.closing ? CLOSING : undefined) ??
            deadline.whyNoExtension((request as Partial<ExtendDeadlineRequest> | undefined)?.deadline, run?.state),
        ),
    },
  );

  try {
    run ??= await planJobRun(job);
    const { state } = run;
    // Rounds: the first, then retry rounds while rows are retryable and nothing stops the job.
    for (;;) {
      await runRound(run);
      if (!hasPendingRetries(state) || state.round >= job.maxRounds || deadline.cut(state) || state.fatal) break;
      const started = await startNextRound(run);
      await retryNow.answer(run, started);
      if (!started) break;
    }
    // Rows that no file records make the job fail, never complete (a report is still written).
    const unrecorded =
      !state.fatal && state.unrecorded && patched(UNRECORDED_ROWS_FAIL_JOB) ? state.unrecorded : undefined;
    const summary = await finishOnce(
      run,
      state.fatal || unrecorded ? 'failed' : deadline.exceeded(state) ? 'deadline_exceeded' : 'completed',
    );
    if (state.fatal) throw fatalFailure(state.fatal, summary);
    if (unrecorded) throw unrecordedRowsFailure(unrecorded, summary);
    return summary;
  } catch (err) {
    // Continue-as-new leaves by throwing: the job goes on in its next run, it has not ended.
    if (err instanceof ContinueAsNew) throw err;
    const ended = isCancellation(err) ? 'cancelled' : 'failed';
    if (ended === 'failed' || !run) {
      // Failed anywhere, or cancelled before planning ended: say so in the status search attribute.
      if (patched(STATUS_ON_EVERY_END)) markEnded(ended, run);
      throw err;
    }
    const cancelled = run;
    try {
      await CancellationScope.nonCancellable(() => finishCancelled(cancelled));
    } catch (finishErr) {
      if (patched(STATUS_ON_EVERY_END)) markEnded('failed', run);
      throw finishErr;
    }
    throw err;
  }
}

/** Publishes the phase of a job that ends without its summary (progress as far as it got). */
function markEnded(phase: 'failed' | 'cancelled', run: JobRun | undefined): void {
  if (run) run.publish(phase);
  else upsertSearchAttributes([{ key: JOB_STATUS, value: phase }]);
}

/** An update validator's refusal: `why`, when there is one, as the rejection's message. */
function refuseIf(update: RefusableUpdate, why: string | undefined): void {
  if (why) throw updateRejected(update, why);
}
