// The job's end: merge every round's records into results.jsonl, failures.jsonl and report.json,
// and return the summary (or, after a refused API key, fail with it).
import { ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { FinalizeInput, FinalizeResult } from '../../activities/job-steps.ts';
import type { JobPhase, JobSummary } from '../../common/job-types.ts';
import { FINALIZE_ONCE, STATUS_ON_EVERY_END } from '../patches.ts';
import { FAILURE_TYPES } from '../../common/failures.ts';
import type { JobRun } from './job-run.ts';
import { allBatchIds, sumCounts } from './job-state.ts';
import { jobLabels, recordJobEnd } from '../metrics.ts';
import { storeResults, type StoredResults } from './stored-results.ts';

/**
 * Finishes the job that ran to its end. A cancel that arrives meanwhile waits: finalize runs once,
 * and the job ends as report.json says (a second, cancelled finalize would race the first).
 */
export async function finishOnce(run: JobRun, status: JobSummary['status']): Promise<JobSummary> {
  if (!patched(FINALIZE_ONCE)) return await finish(run, status);
  return await CancellationScope.nonCancellable(() => finish(run, status));
}

/** Finalizes the job's files with `status` and returns its summary. */
export async function finish(run: JobRun, status: JobSummary['status']): Promise<JobSummary> {
  if (run.state.stored) return await finishStored(run, status, run.state.stored);
  const { state: s, job } = run;
  run.publish('finalizing');
  const rounds = [...new Set(s.results.map((r) => r.round))].sort((a, b) => a - b);
  await job.retryNow.answer(run);
  const final = await job.act.finalizeJob.executeWithOptions(FINALIZE_SUMMARY, [
    finalizeInput(
      run,
      status,
      rounds.map((round) => ({
        round,
        chunks: s.results
          .filter((r) => r.round === round && r.recordsUri !== '')
          .map((r) => ({ index: r.index, recordsUri: r.recordsUri, batchId: r.batchIds.at(-1) ?? '' })),
      })),
    ),
  ]);
  run.publish(endPhase(status));
  recordEnd(run, status, final);
  return {
    ...summaryOf(run, status, final),
    rounds: rounds.map((round) => {
      const inRound = s.results.filter((r) => r.round === round);
      return { round, chunks: inRound.length, counts: sumCounts(inRound) };
    }),
    batchIds: allBatchIds(s),
  };
}

/**
 * The same for a job whose results are in storage: every result is stored first, finalize reads the
 * parts (and writes chunks.jsonl), and the summary gives counts, the newest batch ids and their count.
 */
async function finishStored(run: JobRun, status: JobSummary['status'], stored: StoredResults): Promise<JobSummary> {
  const { job } = run;
  run.publish('finalizing');
  await job.retryNow.answer(run);
  await storeResults(run, true);
  const final = await job.act.finalizeJob.executeWithOptions(FINALIZE_SUMMARY, [
    { ...finalizeInput(run, status, []), storedParts: stored.parts },
  ]);
  run.publish(endPhase(status));
  recordEnd(run, status, final);
  return {
    ...summaryOf(run, status, final),
    rounds: stored.rounds.map((t) => ({ round: t.round, chunks: t.chunks, counts: { ...t.counts } })),
    batchIds: [...stored.recentBatchIds],
    batchCount: stored.batchCount,
    chunksUri: final.chunksUri,
  };
}

/** The job's end in the worker's metrics (not emitted on replay). */
function recordEnd(run: JobRun, status: JobSummary['status'], final: FinalizeResult): void {
  const { state: s, job } = run;
  recordJobEnd(
    jobLabels(job.input.name, job.input.endpoint, s.model),
    { ...final, status },
    Date.now() - s.startedAtMs,
  );
}

const FINALIZE_SUMMARY = { summary: 'merge the rounds into results.jsonl, failures.jsonl and report.json' };

/** `finalizeJob`'s input (in the order older histories recorded it). */
function finalizeInput(run: JobRun, status: JobSummary['status'], rounds: FinalizeInput['rounds']): FinalizeInput {
  const { state: s, job } = run;
  const { input, jobId } = job;
  return {
    jobId,
    inputUri: input.inputUri,
    model: s.model,
    endpoint: input.endpoint,
    prices: input.prices,
    rejected: s.rejected,
    rounds,
    extra: {
      status,
      skippedForBudget: s.skippedForBudget,
      maxCostUsd: input.maxCostUsd ?? null,
      name: input.name ?? null,
      // Chunks whose rows are in no file (the job fails for them): said in report.json too.
      ...(s.unrecorded ? { unrecordedChunks: s.unrecorded.chunks, firstUnrecorded: s.unrecorded.first } : {}),
    },
  };
}

function summaryOf(
  run: JobRun,
  status: JobSummary['status'],
  final: FinalizeResult,
): Omit<JobSummary, 'rounds' | 'batchIds'> {
  const { state: s, job } = run;
  return {
    jobId: job.jobId,
    status,
    model: s.model,
    endpoint: job.input.endpoint,
    rows: final.rows,
    counts: final.counts,
    usage: final.usage,
    costUsd: final.costUsd,
    syncCostUsd: final.syncCostUsd,
    skippedForBudget: s.skippedForBudget,
    rejected: s.rejected.count,
    resultsUri: final.resultsUri,
    failuresUri: final.failuresUri,
    reportUri: final.reportUri,
  };
}

/** The status search attribute of a job that ended `status`. */
function endPhase(status: JobSummary['status']): JobPhase {
  if (status === 'deadline_exceeded') return patched(STATUS_ON_EVERY_END) ? 'deadline_exceeded' : 'completed';
  return status;
}

/**
 * The job's failure after a refused API key. The report is written (every row has its line); the
 * job itself fails, so that schedules, callers and the UI see that the credentials need fixing.
 */
export function fatalFailure(
  fatal: { readonly type: string; readonly message: string },
  summary: JobSummary,
): ApplicationFailure {
  return ApplicationFailure.create({
    type: fatal.type,
    nonRetryable: true,
    message: fatalJobMessage(fatal, summary.reportUri),
    details: [summary],
  });
}

/**
 * The job's failure when chunks' rows are in no file: results.jsonl and the counts lack them, so
 * the job must not look complete. The report is written with what was recorded.
 */
export function unrecordedRowsFailure(
  unrecorded: { readonly chunks: number; readonly first: string },
  summary: JobSummary,
): ApplicationFailure {
  const chunks = unrecorded.chunks === 1 ? '1 chunk' : `${unrecorded.chunks} chunks`;
  return ApplicationFailure.create({
    type: FAILURE_TYPES.unrecordedRows,
    nonRetryable: true,
    message:
      `the rows of ${chunks} could not be recorded, so ${summary.resultsUri} and the counts lack them ` +
      `(first: ${unrecorded.first}). Nothing may delete a running job's files, and every worker must ` +
      `use the same storage root; start the job again for those rows. Report: ${summary.reportUri}`,
    details: [summary],
  });
}

function fatalJobMessage(fatal: { readonly message: string }, reportUri: string): string {
  return (
    `OpenAI refused the job's requests (${fatal.message}); nothing more was submitted. ` +
    'Fix OPENAI_API_KEY (or the organization/project) on the workers and start the job again. ' +
    `Report: ${reportUri}`
  );
}
