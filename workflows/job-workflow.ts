import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchActivities } from '../activities/create-batch-activities.ts';
import { openAIBatchChunk } from './chunk-workflow.ts';
import { chunkWorkflowId, deadlineMs, DEFAULT_MAX_ACTIVE_BATCHES, DEFAULT_MAX_ROUNDS, DEFAULT_OPENAI_FILE_TTL_SECONDS, resolveWait } from '../common/job-options.ts';
import { allBatchIds, jobProgress, type JobState, pendingRetries, planningProgress, progressMarkdown, resultKey, retriedKeys, sumCounts, utcMinute } from './job-state.ts';
import { emptyChunkResult, NO_RECORDS } from './empty-chunk-result.ts';
import type { ChunkEnd, ChunkRef, ChunkResult, ExtendDeadlineResult, JobInput, JobPhase, JobSummary, RetryNowResult } from '../common/job-types.ts';
import { chunkDeadlineSignal, chunkDoneSignal, chunkProgressSignal, extendDeadlineUpdate, progressQuery, retryFailedRowsUpdate } from '../common/messages.ts';
import { PUBLISH_BATCH_IDS_ON_PROGRESS, RECOVER_ENDED_CHUNKS } from './patches.ts';
import { BATCH_IDS, ENDPOINT, JOB_NAME, JOB_PROGRESS, JOB_STATUS, MODEL } from '../common/search-attributes.ts';

function activities(heartbeatTimeoutMs: number) {
  return proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['OpenAIBatch.InvalidInput'] },
  });
}

/**
 * A durable OpenAI batch job: plan the input into chunks, run each chunk as a child workflow
 * (a sliding window of `maxActiveBatches`), resubmit retryable rows in later rounds, finalize
 * `results.jsonl`, `failures.jsonl` and `report.json`, and return a small summary. Cancelled, it
 * cancels every active batch, finalizes what was done and ends cancelled.
 */
export async function openAIBatchJob(input: JobInput, resumed?: JobState): Promise<JobSummary> {
  const wait = resolveWait(input.wait);
  const act = activities(wait.heartbeatTimeoutMs);
  const jobId = input.jobId ?? workflowInfo().workflowId;
  // Mutable: the extendDeadline update moves it (and carries it across continue-as-new).
  let deadline = deadlineMs(input);
  const maxActive = input.maxActiveBatches ?? DEFAULT_MAX_ACTIVE_BATCHES;
  const maxRounds = input.maxRounds ?? DEFAULT_MAX_ROUNDS;
  let state: JobState | undefined = resumed;
  let doneEvents = 0;
  // The retryFailedRows update asks the main loop (the only place that plans rounds) and waits.
  // One request at a time: 'requested' by the handler, 'planning' in the main loop, 'answered'
  // until the handler takes the outcome and sets 'idle' again.
  let retryNow: 'idle' | 'requested' | 'planning' | 'answered' = 'idle';
  let retryNowOutcome: RetryNowResult | ApplicationFailure | undefined;
  // Set while the job drains its handlers before continue-as-new: new retry requests are refused.
  let closing = false;

  const progressNow = (s: JobState) => jobProgress(s, Date.now(), deadline);
  setHandler(progressQuery, () => (state ? progressNow(state) : planningProgress(jobId)));
  setHandler(chunkProgressSignal, (p) => {
    const id = chunkWorkflowId(jobId, p.round, p.index);
    if (!state?.active[id]) return;
    const knownBatchId = state.active[id].batchId;
    state.active[id] = p;
    setCurrentDetails(progressMarkdown(progressNow(state), Date.now()));
    // Operators look a running job up by its batch id: publish a new batch id as soon as a chunk
    // reports it, not only when the chunk ends. Patched, so that recorded histories still replay.
    if (p.batchId && p.batchId !== knownBatchId && patched(PUBLISH_BATCH_IDS_ON_PROGRESS)) publish();
  });
  setHandler(chunkDoneSignal, (r) => record(r));

  function record(result: ChunkResult): void {
    if (!state) return;
    const id = chunkWorkflowId(jobId, result.round, result.index);
    if (state.results.some((r) => resultKey(r.round, r.index) === resultKey(result.round, result.index))) return;
    state.results.push(result);
    delete state.active[id];
    if (state.chunkUris) delete state.chunkUris[id];
    if (result.failureType && !state.fatal) {
      state.fatal = { type: result.failureType, message: result.reason ?? result.failureType };
      log.warn('stopping the job: a chunk failed in a way every chunk would', { type: result.failureType, reason: result.reason });
    }
    doneEvents += 1;
  }

  function publish(phase?: JobPhase): void {
    if (!state) return;
    if (phase) state.phase = phase;
    const progress = progressNow(state);
    setCurrentDetails(progressMarkdown(progress, Date.now()));
    upsertSearchAttributes([
      { key: JOB_STATUS, value: state.phase },
      { key: JOB_PROGRESS, value: progress.percent },
      // Keyword lists are capped at 2 KiB per value: keep the newest ids.
      { key: BATCH_IDS, value: allBatchIds(state).slice(-50) },
    ]);
  }

  const pastDeadline = (): boolean => deadline !== undefined && Date.now() >= deadline;

  /** Why a retry round cannot start now, or undefined when it can (`busy`: count a request under way). */
  function whyNoRetryNow(busy = true): string | undefined {
    if (!state) return 'the job is still planning; nothing has run yet';
    if (state.phase !== 'running') return `the job is ${state.phase}; retry rounds start only while it runs`;
    if (busy && retryNow !== 'idle') return 'a retry round is already being started';
    if (closing) return 'the job is continuing as new; ask again in a few seconds';
    if (state.fatal) return `the job stopped submitting: ${state.fatal.message}`;
    if (pastDeadline()) return `the deadline (${utcMinute(deadline ?? 0)}) passed; the job is finishing`;
    const waiting = state.plan.chunks.length - state.nextChunk;
    if (waiting > 0) {
      // Those chunks belong to the current round; a new round now would leave them unsubmitted.
      return `round ${state.round} still has ${waiting} chunk(s) waiting for a free slot (maxActiveBatches ${maxActive}); ask again once they are submitted`;
    }
    if (state.round >= maxRounds) return `round ${state.round} is the last that maxRounds (${maxRounds}) allows; start the job with a higher maxRounds to retry more`;
    if (pendingRetries(state).length === 0) {
      const running = Object.keys(state.active).length;
      return `no finished chunk has retryable rows yet (${running} chunk${running === 1 ? '' : 's'} still running); retryable rows are resubmitted when the round ends`;
    }
    return undefined;
  }

  setHandler(
    retryFailedRowsUpdate,
    async () => {
      retryNow = 'requested';
      await condition(() => retryNow === 'answered');
      const outcome = retryNowOutcome;
      retryNowOutcome = undefined;
      retryNow = 'idle';
      if (outcome === undefined || outcome instanceof ApplicationFailure) throw outcome ?? rejection('no outcome');
      return outcome;
    },
    {
      validator: () => {
        const why = whyNoRetryNow();
        if (why) throw new Error(`retryFailedRows rejected: ${why}`);
      },
    },
  );

  /** Why the deadline cannot move to `requested`, or undefined when it can. */
  function whyNoExtension(requested: unknown): string | undefined {
    const next = parseDeadline(requested);
    if (next === undefined) {
      return `deadline ${JSON.stringify(requested)} is not an ISO 8601 date with a time zone or epoch milliseconds (example: {"deadline": "2026-11-23T06:00:00Z"})`;
    }
    if (next > Date.now() + MAX_DEADLINE_AHEAD_MS) return `the new deadline (${new Date(next).toISOString()}) is more than a year ahead; give epoch milliseconds, not micro- or nanoseconds`;
    if (deadline === undefined) return 'the job has no deadline to extend; it runs until its batches end';
    if (state && (state.phase === 'finalizing' || state.phase === 'completed' || state.phase === 'cancelled')) return `the job is ${state.phase}`;
    if (pastDeadline() || state?.deadlineHit) return `the deadline (${utcMinute(deadline)}) already passed; the job is cancelling its batches and finishing`;
    if (next <= deadline) return `the new deadline (${new Date(next).toISOString()}) must be later than the current one (${new Date(deadline).toISOString()})`;
    return undefined;
  }

  setHandler(
    extendDeadlineUpdate,
    async (request): Promise<ExtendDeadlineResult> => {
      const previous = deadline ?? 0;
      const next = parseDeadline(request.deadline) ?? previous;
      deadline = next;
      // Each running chunk enforces the deadline it was started with: tell it.
      const ids = state ? Object.keys(state.active) : [];
      for (const id of ids) await getExternalWorkflowHandle(id).signal(chunkDeadlineSignal, { deadlineMs: next }).catch(() => undefined);
      log.info('deadline extended', { previous: new Date(previous).toISOString(), deadline: new Date(next).toISOString(), chunks: ids.length });
      if (state) publish();
      return { previousDeadline: new Date(previous).toISOString(), deadline: new Date(next).toISOString(), chunksNotified: ids.length };
    },
    {
      validator: (request) => {
        const why = whyNoExtension((request as { deadline?: unknown } | undefined)?.deadline);
        if (why) throw new Error(`extendDeadline rejected: ${why}`);
      },
    },
  );

  /**
   * Plans a retry round from the finished chunks' retryable rows and makes it the current round.
   * Chunks of the previous round may still be running; their rows go to a later round.
   */
  async function startNextRound(): Promise<RetryNowResult | undefined> {
    if (!state) return undefined;
    const s = state;
    const pending = pendingRetries(s);
    if (pending.length === 0) return undefined;
    const plan = await act.planRetryRound.executeWithOptions({ summary: `plan round ${s.round + 1} from the retryable rows of ${pending.length} chunk(s)` }, [
      { jobId, round: s.round + 1, endpoint: input.endpoint, retryUris: pending.map((r) => r.retryUri as string), limits: input.limits, prices: input.prices },
    ]);
    s.retried = [...retriedKeys(s), ...pending.map((r) => resultKey(r.round, r.index))];
    if (plan.chunks.length === 0) return undefined;
    log.info('starting retry round', { round: s.round + 1, requests: plan.totalRequests });
    Object.assign(s, { round: s.round + 1, plan, nextChunk: 0, roundStartedAtMs: Date.now() });
    return { round: s.round, requests: plan.totalRequests, chunks: plan.chunks.length, fromChunks: pending.length };
  }

  /** Answers a waiting retryFailedRows update, if any: with `started`, or by starting a round now. */
  async function answerRetryNow(started?: RetryNowResult): Promise<void> {
    if (retryNow !== 'requested') return;
    retryNow = 'planning';
    let outcome: RetryNowResult | ApplicationFailure | undefined = started;
    if (!outcome) {
      const why = whyNoRetryNow(false);
      outcome = (why ? undefined : await startNextRound()) ?? rejection(why ?? 'the retryable rows were already resubmitted');
    }
    retryNowOutcome = outcome;
    retryNow = 'answered';
  }

  /** Records, as failed, every active chunk whose workflow has ended without reporting. */
  async function recoverEndedChunks(): Promise<void> {
    const ids = state ? Object.keys(state.active) : [];
    if (ids.length === 0) return;
    const ended = await act.findEndedChunks.executeWithOptions({ summary: `check that ${ids.length} chunk workflow(s) still run` }, [{ workflowIds: ids }]);
    for (const { workflowId, status } of ended) {
      await recordLostChunk(workflowId, `chunk workflow ${workflowId} ended (${status}) without reporting its result`);
    }
  }

  /**
   * A chunk workflow ended without its report (an operator terminated it): cancel its batch, so
   * that nothing bills unwatched, and record its rows as failed with the reason, so that each still
   * gets its line in results.jsonl.
   */
  async function recordLostChunk(workflowId: string, reason: string): Promise<void> {
    const s = state;
    const progress = s?.active[workflowId];
    if (!s || !progress) return;
    log.warn('a chunk workflow ended without reporting', { workflowId, reason });
    const planned = progress.round === s.round ? s.plan.chunks.find((c) => c.index === progress.index) : undefined;
    const chunkUri = s.chunkUris?.[workflowId] ?? planned?.uri;
    if (progress.batchId) {
      await act.cancelBatch.executeWithOptions({ summary: `cancel batch ${progress.batchId} of ended chunk ${workflowId}` }, [{ batchId: progress.batchId }]).catch(() => undefined);
    }
    const outcome = chunkUri
      ? await act.collectChunk.executeWithOptions({ summary: `record the rows of ended chunk ${workflowId} as failed` }, [{
        jobId, round: progress.round, chunkIndex: progress.index, chunkUri, endpoint: input.endpoint, batchId: progress.batchId ?? '',
        end: 'failed', batchErrors: [{ code: 'chunk_ended', message: reason }],
      }])
      : NO_RECORDS;
    // Its own report may have arrived meanwhile: that one counts.
    if (!s.active[workflowId]) return;
    record({ round: progress.round, index: progress.index, end: 'failed', batchIds: progress.batchId ? [progress.batchId] : [], estimatedCostUsd: planned?.estimatedCostUsd ?? 0, reason, ...outcome });
  }

  async function skip(chunk: ChunkRef, reason: 'budget' | 'deadline' | 'cancelled' | 'stopped'): Promise<void> {
    if (!state) return;
    const outcome = await act.collectChunk.executeWithOptions({ summary: `record round ${state.round}, chunk ${chunk.index} as not submitted (${reason})` }, [{
      jobId, round: state.round, chunkIndex: chunk.index, chunkUri: chunk.uri, endpoint: input.endpoint,
      batchId: '', end: 'not_submitted', cancelledByDeadline: reason === 'deadline',
    }]);
    record({ round: state.round, index: chunk.index, end: 'not_submitted', batchIds: [], estimatedCostUsd: chunk.estimatedCostUsd, reason, ...outcome });
  }

  async function launch(chunk: ChunkRef): Promise<void> {
    if (!state) return;
    const round = state.round;
    const workflowId = chunkWorkflowId(jobId, round, chunk.index);
    state.active[workflowId] = { round, index: chunk.index, phase: 'uploading', done: 0, total: chunk.requests };
    (state.chunkUris ??= {})[workflowId] = chunk.uri;
    const startedWithDeadline = deadline;
    const handle = await startChild(openAIBatchChunk, {
      workflowId,
      args: [{
        jobId, jobWorkflowId: workflowInfo().workflowId, round, chunk, endpoint: input.endpoint, model: state.model,
        jobStartedAtMs: state.startedAtMs, jobRunId: state.runId, deadlineMs: deadline, jsonSchema: input.jsonSchema,
        retryInvalidOutput: input.retryInvalidOutput, wait, continueAsNewAfterEvents: input.continueAsNewAfterEvents,
        fileTtlSeconds: input.openaiFileTtlSeconds ?? DEFAULT_OPENAI_FILE_TTL_SECONDS,
      }],
      // Children outlive this run's continue-as-new and report by signal to the workflow id;
      // the job cancels them itself (by id) when it is cancelled.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      staticSummary: `round ${round}, chunk ${chunk.index}: ${chunk.requests} requests`,
    });
    // An extendDeadline that ran while the child was starting may not have reached it.
    if (deadline !== startedWithDeadline && deadline !== undefined) await handle.signal(chunkDeadlineSignal, { deadlineMs: deadline }).catch(() => undefined);
    void handle.result().then(
      (result) => record(result),
      (err: unknown) => {
        // A child that ends without its signal (terminated by an operator) must not hang the job.
        if (!isCancellation(err) && state?.active[workflowId]) {
          if (patched(RECOVER_ENDED_CHUNKS)) {
            void recordLostChunk(workflowId, `chunk workflow ${workflowId} ended without reporting its result: ${err instanceof Error ? err.message : String(err)}`);
            return;
          }
          record(emptyChunkResult({ round, index: chunk.index, estimatedCostUsd: chunk.estimatedCostUsd, reason: err instanceof Error ? err.message : String(err) }));
        }
      },
    );
  }

  async function runRound(): Promise<void> {
    if (!state) return;
    // state.plan is read afresh on each pass: a retryFailedRows update may start the next round.
    while (state.nextChunk < state.plan.chunks.length || Object.keys(state.active).length > 0) {
      while (Object.keys(state.active).length < maxActive && state.nextChunk < state.plan.chunks.length) {
        const chunk = state.plan.chunks[state.nextChunk] as ChunkRef;
        state.nextChunk += 1;
        if (state.fatal) {
          await skip(chunk, 'stopped');
        } else if (pastDeadline()) {
          state.deadlineHit = true;
          await skip(chunk, 'deadline');
        } else if (input.maxCostUsd !== undefined && state.committedCostUsd + chunk.estimatedCostUsd > input.maxCostUsd) {
          state.skippedForBudget += 1;
          await skip(chunk, 'budget');
        } else {
          state.committedCostUsd += chunk.estimatedCostUsd;
          await launch(chunk);
        }
      }
      publish();
      if (Object.keys(state.active).length === 0) continue;
      const seen = doneEvents;
      const woken = () => doneEvents !== seen || retryNow === 'requested';
      if (patched(RECOVER_ENDED_CHUNKS)) {
        // Children report by signal; check now and then that none ended without reporting.
        if (!(await condition(woken, wait.progressRefreshMs * 2))) await recoverEndedChunks();
      } else {
        await condition(woken);
      }
      await answerRetryNow();
      const info = workflowInfo();
      if (info.continueAsNewSuggested || (input.continueAsNewAfterEvents !== undefined && info.historyLength >= input.continueAsNewAfterEvents)) {
        log.info('continuing as new', { historyLength: info.historyLength, active: Object.keys(state.active).length });
        // Drain the handlers; a retry request accepted just before needs this loop to answer it.
        closing = true;
        while (!allHandlersFinished()) {
          await condition(() => allHandlersFinished() || retryNow === 'requested');
          await answerRetryNow();
        }
        // The deadline may have moved (extendDeadline): the next run starts from the current one.
        await continueAsNew<typeof openAIBatchJob>(deadline === undefined || deadline === deadlineMs(input) ? input : { ...input, deadline }, state);
      }
    }
  }

  async function finish(status: JobSummary['status']): Promise<JobSummary> {
    if (!state) throw new Error('finish before plan');
    const s = state;
    publish('finalizing');
    const rounds = [...new Set(s.results.map((r) => r.round))].sort((a, b) => a - b);
    await answerRetryNow();
    const final = await act.finalizeJob.executeWithOptions({ summary: 'merge the rounds into results.jsonl, failures.jsonl and report.json' }, [{
      jobId, inputUri: input.inputUri, model: s.model, endpoint: input.endpoint, prices: input.prices, rejected: s.rejected,
      rounds: rounds.map((round) => ({
        round,
        chunks: s.results
          .filter((r) => r.round === round && r.recordsUri !== '')
          .map((r) => ({ index: r.index, recordsUri: r.recordsUri, batchId: r.batchIds.at(-1) ?? '' })),
      })),
      extra: { status, skippedForBudget: s.skippedForBudget, maxCostUsd: input.maxCostUsd ?? null, name: input.name ?? null },
    }]);
    publish(status === 'cancelled' ? 'cancelled' : status === 'failed' ? 'failed' : 'completed');
    return {
      jobId, status, model: s.model, endpoint: input.endpoint, rows: final.rows, counts: final.counts,
      rounds: rounds.map((round) => {
        const inRound = s.results.filter((r) => r.round === round);
        return { round, chunks: inRound.length, counts: sumCounts(inRound) };
      }),
      usage: final.usage, costUsd: final.costUsd, syncCostUsd: final.syncCostUsd, batchIds: allBatchIds(s),
      skippedForBudget: s.skippedForBudget, rejected: s.rejected.count,
      resultsUri: final.resultsUri, failuresUri: final.failuresUri, reportUri: final.reportUri,
    };
  }

  try {
    if (!state) {
      setCurrentDetails(`**OpenAI batch job** \`${jobId}\`: planning ${input.inputUri}`);
      upsertSearchAttributes([
        { key: JOB_STATUS, value: 'planning' },
        { key: JOB_PROGRESS, value: 0 },
        { key: ENDPOINT, value: input.endpoint },
        ...(input.name ? [{ key: JOB_NAME, value: input.name }] : []),
      ]);
      const plan = await act.planJob.executeWithOptions({ summary: `validate and plan ${input.inputUri}` }, [
        { jobId, inputUri: input.inputUri, endpoint: input.endpoint, onInvalid: input.onInvalid ?? 'fail', limits: input.limits, prices: input.prices },
      ]);
      state = {
        jobId, startedAtMs: Date.now(), runId: workflowInfo().firstExecutionRunId, model: plan.model, firstRoundRequests: plan.totalRequests, rejected: plan.rejected,
        phase: 'running', round: 1, plan, nextChunk: 0, active: {}, results: [], committedCostUsd: 0, skippedForBudget: 0, deadlineHit: false,
        roundStartedAtMs: Date.now(), retried: [],
      };
      upsertSearchAttributes([{ key: MODEL, value: plan.model }]);
    }
    for (;;) {
      await runRound();
      const deadlineEnded = state.deadlineHit || state.results.some((r) => r.reason === 'deadline' || deadlineCut(r.end, pastDeadline()));
      if (pendingRetries(state).length === 0 || state.round >= maxRounds || deadlineEnded || state.fatal) break;
      const started = await startNextRound();
      await answerRetryNow(started);
      if (!started) break;
    }
    const deadlineExceeded = state.deadlineHit || pastDeadline();
    const summary = await finish(state.fatal ? 'failed' : deadlineExceeded ? 'deadline_exceeded' : 'completed');
    if (state.fatal) {
      // The report is written (every row has its line); the job itself fails, so that schedules,
      // callers and the UI see that the credentials need fixing, not a completed job.
      throw ApplicationFailure.create({
        type: state.fatal.type,
        nonRetryable: true,
        message: `OpenAI refused the job's requests (${state.fatal.message}); nothing more was submitted. Fix OPENAI_API_KEY (or the organization/project) on the workers and start the job again. Report: ${summary.reportUri}`,
        details: [summary],
      });
    }
    return summary;
  } catch (err) {
    if (!isCancellation(err) || !state) throw err;
    const s = state;
    await CancellationScope.nonCancellable(async () => {
      publish('running');
      for (const id of Object.keys(s.active)) await getExternalWorkflowHandle(id).cancel().catch(() => undefined);
      await condition(() => Object.keys(s.active).length === 0);
      while (s.nextChunk < s.plan.chunks.length) {
        const chunk = s.plan.chunks[s.nextChunk] as ChunkRef;
        s.nextChunk += 1;
        await skip(chunk, 'cancelled');
      }
      await finish('cancelled');
    });
    throw err;
  }
}

function rejection(why: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `retryFailedRows: ${why}`, type: 'OpenAIBatch.UpdateRejected', nonRetryable: true });
}

/** How far ahead a deadline may be: beyond it, the number was surely not epoch milliseconds. */
const MAX_DEADLINE_AHEAD_MS = 366 * 86_400_000;

/**
 * Epoch ms from epoch ms or an ISO 8601 date with a time zone (`Z` or `+02:00`); undefined when it
 * is neither. A date without a zone would be read in each worker's local time, which replay on
 * another worker could read differently.
 */
function parseDeadline(value: unknown): number | undefined {
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())) ms = Date.parse(value);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : undefined;
}

function deadlineCut(end: ChunkEnd, pastDeadline: boolean): boolean {
  return pastDeadline && (end === 'cancelled' || end === 'not_submitted');
}
