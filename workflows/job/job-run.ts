// A job once planned: its settings and its state, never optional, and what every step does to them
// (record a chunk's result, publish progress). Created by `planJobRun` or from a resumed state.
import {
  CancellationScope,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { BatchActivities } from '../../activities/create-batch-activities.ts';
import {
  chunkWorkflowId,
  DEFAULT_MAX_ACTIVE_BATCHES,
  DEFAULT_MAX_ROUNDS,
  resolveWait,
} from '../../common/job-options.ts';
import type {
  ChunkProgress,
  ChunkResult,
  JobInput,
  JobPhase,
  JobProgress,
  WaitOptions,
} from '../../common/job-types.ts';
import {
  BATCH_IDS,
  batchIdsWithinBudget,
  ENDPOINT,
  JOB_NAME,
  JOB_PROGRESS,
  JOB_STATUS,
  keywordWithinBudget,
  MODEL,
} from '../../common/search-attributes.ts';
import {
  LEAN_JOB_WAKES,
  PUBLISH_BATCH_IDS_ON_PROGRESS,
  PUBLISH_PROGRESS_ON_CHUNK_PROGRESS,
  RESULTS_IN_STORAGE,
} from '../patches.ts';
import { Deadline } from './deadline.ts';
import { allBatchIds, jobProgress, progressMarkdown, resultKey, type JobState } from './job-state.ts';
import { RetryNow } from './retry-now.ts';
import { addToTotals, newStoredResults, untilIdle } from './stored-results.ts';
import { QuietCheck } from './quiet-check.ts';

/** With lean-job-wakes: the search attributes move at most this often (workflow time), a new phase at once. */
export const PUBLISH_EVERY_MS = 5_000;
import { NON_RETRYABLE_FAILURE_TYPES } from '../../common/failures.ts';

function activities(heartbeatTimeoutMs: number) {
  return proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
    },
  });
}

/** The job's options, resolved once per run, and what lives before planning (deadline, retry handshake). */
export interface JobSettings {
  readonly input: JobInput;
  readonly jobId: string;
  readonly wait: Required<WaitOptions>;
  readonly act: ReturnType<typeof activities>;
  readonly maxActive: number;
  readonly maxRounds: number;
  readonly deadline: Deadline;
  readonly retryNow: RetryNow;
}

export function jobSettings(input: JobInput): JobSettings {
  const wait = resolveWait(input.wait);
  return {
    input,
    jobId: input.jobId ?? workflowInfo().workflowId,
    wait,
    act: activities(wait.heartbeatTimeoutMs),
    maxActive: input.maxActiveBatches ?? DEFAULT_MAX_ACTIVE_BATCHES,
    maxRounds: input.maxRounds ?? DEFAULT_MAX_ROUNDS,
    deadline: new Deadline(input),
    retryNow: new RetryNow(),
  };
}

export class JobRun {
  /** Chunk results recorded so far in this run: the main loop wakes when it moves. */
  doneEvents = 0;
  /** Set while the job drains its handlers before continue-as-new: new retry requests are refused. */
  closing = false;
  /** The progress percent last published in the search attributes (this run). */
  private publishedPercent = -1;
  /** A step on the stored results (a part's store, a retry round's take) is under way. */
  #resultsBusy = false;
  /** With lean-job-wakes: the values last upserted, and when. */
  #published = { key: '', atMs: -Infinity };
  /** With lean-job-wakes: a timer will publish a change that came too soon after the last upsert. */
  #publishDeferred = false;
  /** With lean-job-wakes: the main loop's check for chunks that ended without reporting. */
  readonly quietCheck: QuietCheck;
  /** With lost-chunk-recovered-once: the chunks whose recovery is under way (see lost-chunks.ts). */
  readonly recovering = new Set<string>();
  /** Set by the cancel branch: a recovered chunk without a batch was never submitted, and is cancelled. */
  cancelling = false;

  readonly job: JobSettings;
  readonly state: JobState;

  constructor(job: JobSettings, state: JobState) {
    this.job = job;
    this.state = state;
    this.quietCheck = new QuietCheck(job.wait.progressRefreshMs * 2);
  }

  get activeIds(): string[] {
    return Object.keys(this.state.active);
  }

  progress(): JobProgress {
    return jobProgress(this.state, Date.now(), this.job.deadline.ms);
  }

  /** A chunk's progress signal. */
  onChunkProgress(p: ChunkProgress): void {
    const id = chunkWorkflowId(this.job.jobId, p.round, p.index);
    const known = this.state.active[id];
    if (!known) return;
    const knownBatchId = known.batchId;
    const seen = p.done !== known.done;
    this.state.active[id] = p;
    if (seen) this.state.observedAtMs = Date.now();
    setCurrentDetails(progressMarkdown(this.progress(), Date.now()));
    // Operators look a running job up by its batch id: publish a new batch id as soon as a chunk
    // reports it, not only when the chunk ends. Patched, so that recorded histories still replay.
    if (p.batchId && p.batchId !== knownBatchId && patched(PUBLISH_BATCH_IDS_ON_PROGRESS)) this.publish();
    // `list` shows the progress search attribute: move it with the polls, once per percent at most.
    else if (seen && this.progress().percent !== this.publishedPercent && patched(PUBLISH_PROGRESS_ON_CHUNK_PROGRESS))
      this.publish();
  }

  /**
   * A chunk's result (its done signal, its workflow's result, or a recovery): the first one counts.
   * `launched` is false for a chunk recorded without a workflow (skipped).
   */
  record(result: ChunkResult, launched = true): void {
    const s = this.state;
    const id = chunkWorkflowId(this.job.jobId, result.round, result.index);
    if (s.results.some((r) => resultKey(r.round, r.index) === resultKey(result.round, result.index))) return;
    if (s.stored) {
      // Stored results are not searched: a launched chunk counts while it is active, once.
      if (launched && !s.active[id]) return;
      addToTotals(s.stored, result);
      if (s.chunkCosts) delete s.chunkCosts[id];
    }
    s.results.push(result);
    s.observedAtMs = Date.now();
    delete s.active[id];
    if (s.chunkUris) delete s.chunkUris[id];
    if (result.recordsUri === '') {
      // State only, whatever the history: the job's end decides what it means (patch unrecorded-rows-fail-job).
      if (s.unrecorded) s.unrecorded.chunks += 1;
      else
        s.unrecorded = {
          chunks: 1,
          // Bounded: the state is carried across continue-as-new.
          first: `round ${result.round}, chunk ${result.index}: ${(result.unrecorded ?? result.reason ?? 'no reason given').slice(0, 500)}`,
        };
    }
    if (result.failureType && !s.fatal) {
      s.fatal = { type: result.failureType, message: result.reason ?? result.failureType };
      log.warn('stopping the job: a chunk failed in a way every chunk would', {
        type: result.failureType,
        reason: result.reason,
      });
    }
    this.doneEvents += 1;
  }

  /** Runs `step` on the stored results when no other step is under way (a store, a retry round's take). */
  async exclusive<T>(step: () => Promise<T>): Promise<T> {
    await untilIdle(() => this.#resultsBusy);
    this.#resultsBusy = true;
    try {
      return await step();
    } finally {
      this.#resultsBusy = false;
    }
  }

  /** Sets the phase (when given) and publishes progress: current details and search attributes. */
  publish(phase?: JobPhase): void {
    if (phase) this.state.phase = phase;
    const progress = this.progress();
    this.publishedPercent = progress.percent;
    setCurrentDetails(progressMarkdown(progress, Date.now()));
    const attributes: SearchAttributeUpdatePair[] = [
      { key: JOB_STATUS, value: this.state.phase },
      { key: JOB_PROGRESS, value: progress.percent },
      // A value is capped at 2 KiB: the active chunks' ids first, then the newest.
      { key: BATCH_IDS, value: publishedBatchIds(this.state) },
    ];
    if (this.state.stored && patched(LEAN_JOB_WAKES)) {
      this.#publishLean(attributes, phase !== undefined);
      return;
    }
    upsertSearchAttributes(attributes);
  }

  /**
   * Upserts the attributes when their values changed: at once for a new phase, else at most every
   * {@link PUBLISH_EVERY_MS}; a change within that is upserted by a timer when it ends.
   */
  #publishLean(attributes: SearchAttributeUpdatePair[], now: boolean): void {
    const key = JSON.stringify(attributes.map((a) => a.value));
    if (key === this.#published.key) return;
    const waitMs = this.#published.atMs + PUBLISH_EVERY_MS - Date.now();
    if (!now && waitMs > 0) {
      if (this.#publishDeferred) return;
      this.#publishDeferred = true;
      // Non-cancellable: in the cancel branch the root scope is cancelled, and a change would be dropped.
      void CancellationScope.nonCancellable(() => sleep(waitMs)).then(
        () => {
          this.#publishDeferred = false;
          this.publish();
        },
        () => {
          this.#publishDeferred = false;
        },
      );
      return;
    }
    this.#published = { key, atMs: Date.now() };
    upsertSearchAttributes(attributes);
  }
}

/** The batch ids the job publishes: within Temporal's 2 KiB per value whatever the job's size. */
export function publishedBatchIds(state: JobState): string[] {
  const active = Object.values(state.active).flatMap((p) => (p.batchId ? [p.batchId] : []));
  return batchIdsWithinBudget(active, allBatchIds(state));
}

/** Validates and plans the input (round 1) and returns the job's run. */
export async function planJobRun(job: JobSettings): Promise<JobRun> {
  const { input, jobId } = job;
  setCurrentDetails(`**OpenAI batch job** \`${jobId}\`: planning ${input.inputUri}`);
  upsertSearchAttributes([
    { key: JOB_STATUS, value: 'planning' },
    { key: JOB_PROGRESS, value: 0 },
    { key: ENDPOINT, value: input.endpoint },
    ...(input.name ? [{ key: JOB_NAME, value: keywordWithinBudget(input.name) }] : []),
  ]);
  // Decided once: the job keeps its results and chunk lists in storage to its end (the state says so).
  const inStorage = patched(RESULTS_IN_STORAGE);
  const plan = await job.act.planJob.executeWithOptions({ summary: `validate and plan ${input.inputUri}` }, [
    {
      jobId,
      inputUri: input.inputUri,
      endpoint: input.endpoint,
      onInvalid: input.onInvalid ?? 'fail',
      limits: input.limits,
      prices: input.prices,
      ...(inStorage ? { chunksInStorage: true } : {}),
    },
  ]);
  const state: JobState = {
    jobId,
    startedAtMs: Date.now(),
    runId: workflowInfo().firstExecutionRunId,
    model: plan.model,
    firstRoundRequests: plan.totalRequests,
    rejected: plan.rejected,
    phase: 'running',
    round: 1,
    plan,
    nextChunk: 0,
    active: {},
    results: [],
    committedCostUsd: 0,
    skippedForBudget: 0,
    deadlineHit: false,
    roundStartedAtMs: Date.now(),
    retried: [],
    ...(inStorage ? { stored: newStoredResults(), chunkCosts: {} } : {}),
  };
  upsertSearchAttributes([{ key: MODEL, value: keywordWithinBudget(plan.model) }]);
  return new JobRun(job, state);
}
