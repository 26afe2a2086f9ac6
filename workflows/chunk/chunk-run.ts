import {
  CancellationScope,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import type { ChunkEnd, ChunkInput, ChunkProgress, ChunkResult } from '../../common/job-types.ts';
import {
  chunkDeadlineSignal,
  chunkDoneSignal,
  chunkProgressQuery,
  chunkProgressSignal,
} from '../../common/messages.ts';
import { emptyChunkResult } from '../empty-chunk-result.ts';
import { chunkLabels, recordChunkCollected } from '../metrics.ts';
import { DONE_SIGNAL_UNCANCELLABLE } from '../patches.ts';
import { chunkActivities, type ChunkActivities } from './activities.ts';

/** Where a chunk workflow resumes after continue-as-new. */
export interface ChunkResume {
  readonly fileId: string;
  readonly attempt: number;
  readonly batchIds: readonly string[];
  readonly batchId?: string | undefined;
  /** When the input file was uploaded (epoch ms), to tell whether its TTL may have passed. */
  readonly uploadedAtMs?: number | undefined;
  /** When OpenAI said the input file expires (epoch ms); absent from runs that did not record it. */
  readonly fileExpiresAtMs?: number | undefined;
}

/** What `collect` adds to the collected rows. */
export interface CollectExtra {
  readonly cancelledByDeadline?: boolean;
  readonly reason?: string;
}

/**
 * The state of one run of a chunk workflow, and what it tells its job: progress (query, details,
 * signal), the collect of its rows and its done signal.
 */
export class ChunkRun {
  readonly input: ChunkInput;
  readonly activities: ChunkActivities;
  readonly batchIds: string[];
  batchId: string | undefined;
  fileId: string | undefined;
  /** When `fileId` was uploaded, epoch ms (unknown for a run resumed from an older one). */
  uploadedAtMs: number | undefined;
  /** When OpenAI said `fileId` expires, epoch ms (unknown for uploads recorded before it was asked). */
  fileExpiresAtMs: number | undefined;
  /** Submission attempt, part of the idempotency key: `token_limit_exceeded` moves it on. */
  attempt: number;
  /** True while a create may have reached OpenAI without its answer reaching this workflow. */
  creating = false;
  /**
   * Under CREATE_BATCH_SETTLES: a cancelled create is waited for (its answer says whether a batch
   * exists), and searches for the key stop at `createTriedAtMs`, its first try, not the job's start.
   */
  createSettles = false;
  createTriedAtMs: number;
  /**
   * The job's extendDeadline update moves this later. A wait already running keeps the old
   * deadline; when it ends on that one, the chunk waits again instead of cancelling.
   */
  deadline: number | undefined;
  deadlineMoved = false;
  progress: ChunkProgress;
  private readonly job: ReturnType<typeof getExternalWorkflowHandle>;

  constructor(input: ChunkInput, resume: ChunkResume | undefined) {
    this.input = input;
    this.activities = chunkActivities(input);
    this.batchIds = [...(resume?.batchIds ?? [])];
    this.batchId = resume?.batchId;
    this.fileId = resume?.fileId;
    this.uploadedAtMs = resume?.uploadedAtMs;
    this.fileExpiresAtMs = resume?.fileExpiresAtMs;
    this.attempt = resume?.attempt ?? 1;
    this.deadline = input.deadlineMs;
    this.createTriedAtMs = input.jobStartedAtMs;
    const { round, chunk } = input;
    this.progress = {
      round,
      index: chunk.index,
      phase: resume ? 'waiting' : 'uploading',
      batchId: this.batchId,
      done: 0,
      total: chunk.requests,
    };
    this.job = getExternalWorkflowHandle(input.jobWorkflowId);
  }

  /** Answers the progress query and takes deadline moves from the job. */
  listen(): void {
    setHandler(chunkProgressQuery, () => this.progress);
    setHandler(chunkDeadlineSignal, ({ deadlineMs }) => {
      if (this.deadline !== undefined && deadlineMs > this.deadline) {
        this.deadline = deadlineMs;
        this.deadlineMoved = true;
      }
    });
  }

  /** The idempotency key of the current submission attempt. */
  key(): string {
    const { jobId, jobRunId, round, chunk } = this.input;
    return `${jobId}:${jobRunId ?? '-'}:r${round}:c${chunk.index}:a${this.attempt}`;
  }

  /** What continue-as-new carries: where the next run resumes. Undefined before the upload. */
  resume(): ChunkResume | undefined {
    if (!this.fileId) return undefined;
    return {
      fileId: this.fileId,
      attempt: this.attempt,
      batchIds: [...this.batchIds],
      batchId: this.batchId,
      ...(this.uploadedAtMs === undefined ? {} : { uploadedAtMs: this.uploadedAtMs }),
      ...(this.fileExpiresAtMs === undefined ? {} : { fileExpiresAtMs: this.fileExpiresAtMs }),
    };
  }

  pastDeadline(): boolean {
    return this.deadline !== undefined && Date.now() >= this.deadline;
  }

  /** Updates the progress and the UI's details; with `notifyJob`, signals it to the job. */
  async report(next: Partial<ChunkProgress>, notifyJob: boolean): Promise<void> {
    const progress = (this.progress = { ...this.progress, ...next });
    setCurrentDetails(
      `**Chunk** ${progress.index} of round ${progress.round} (job \`${this.input.jobId}\`): ${progress.phase}` +
        (progress.batchId
          ? `, batch \`${progress.batchId}\` ${progress.batchStatus ?? ''} ${progress.done}/${progress.total}`
          : ''),
    );
    if (notifyJob) {
      await this.job.signal(chunkProgressSignal, progress).catch((err: unknown) => {
        log.warn('chunk progress signal to the job failed', {
          jobWorkflowId: this.input.jobWorkflowId,
          error: String(err),
        });
      });
    }
  }

  /** Collects the chunk's rows (records and retry lines to storage) and builds its result. */
  async collect(end: ChunkEnd, snapshot?: BatchSnapshot, extra: CollectExtra = {}): Promise<ChunkResult> {
    const { input } = this;
    const { round, chunk } = input;
    await this.report({ phase: 'collecting' }, false);
    const outcome = await this.activities.io.collectChunk.executeWithOptions(
      { summary: `collect ${end} batch ${snapshot?.batchId || '(none)'}: round ${round}, chunk ${chunk.index}` },
      [
        {
          jobId: input.jobId,
          round,
          chunkIndex: chunk.index,
          chunkUri: chunk.uri,
          endpoint: input.endpoint,
          metricTags: chunkLabels(input),
          batchId: snapshot?.batchId ?? '',
          end,
          outputFileId: snapshot?.outputFileId,
          errorFileId: snapshot?.errorFileId,
          batchErrors:
            snapshot?.errors ?? (extra.reason ? [{ code: 'chunk_failed', message: extra.reason }] : undefined),
          jsonSchema: input.jsonSchema,
          retryInvalidOutput: input.retryInvalidOutput,
          cancelledByDeadline: extra.cancelledByDeadline,
        },
      ],
    );
    recordChunkCollected(chunkLabels(input), end, snapshot, Date.now(), workflowInfo().startTime.getTime());
    return {
      round,
      index: chunk.index,
      end,
      batchIds: [...this.batchIds],
      estimatedCostUsd: chunk.estimatedCostUsd,
      reason: extra.reason,
      ...outcome,
    };
  }

  /** Collects with `end`; when the collect itself fails, a result with no records (logged). */
  async collectOrEmpty(end: ChunkEnd, snapshot: BatchSnapshot | undefined, reason: string): Promise<ChunkResult> {
    const { round, chunk } = this.input;
    return await this.collect(end, snapshot, { reason }).catch((err: unknown) => {
      log.warn('collect of a chunk that could not end normally failed; reporting it without records', {
        reason,
        error: String(err),
      });
      return emptyChunkResult({
        round,
        index: chunk.index,
        estimatedCostUsd: chunk.estimatedCostUsd,
        batchIds: this.batchIds,
        reason,
      });
    });
  }

  /**
   * Tells the job the chunk ended. A signal from a cancelled scope is dropped, so a chunk cancelled
   * as it ended sends it from a non-cancellable one. A signal that fails is logged: the job's
   * recovery finds the chunk.
   */
  async signalDone(result: ChunkResult): Promise<void> {
    const send = () =>
      this.job.signal(chunkDoneSignal, result).catch((err: unknown) => {
        log.warn('chunk done signal to the job failed', {
          jobWorkflowId: this.input.jobWorkflowId,
          workflowId: workflowInfo().workflowId,
          error: String(err),
        });
      });
    if (CancellationScope.current().consideredCancelled && patched(DONE_SIGNAL_UNCANCELLABLE))
      await CancellationScope.nonCancellable(send);
    else await send();
  }
}
