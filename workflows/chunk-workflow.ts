import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchActivities } from '../activities/create-batch-activities.ts';
import type { BatchSnapshot } from '../activities/openai-batches.ts';
import type { ChunkEnd, ChunkInput, ChunkProgress, ChunkResult } from '../common/job-types.ts';
import { emptyChunkResult } from './empty-chunk-result.ts';
import { chunkDeadlineSignal, chunkDoneSignal, chunkProgressQuery, chunkProgressSignal } from '../common/messages.ts';

/** Where a chunk workflow resumes after continue-as-new. */
export interface ChunkResume {
  readonly fileId: string;
  readonly attempt: number;
  readonly batchIds: readonly string[];
  readonly batchId?: string | undefined;
}


function activities(input: ChunkInput) {
  const heartbeatTimeout = input.wait.heartbeatTimeoutMs;
  const io = proxyActivities<BatchActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['OpenAIBatch.InvalidInput'] },
  });
  const quick = proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
  });
  const poll = proxyActivities<BatchActivities>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout,
    // Each retry is one poll (see waitForBatch); the bound wakes the workflow if the worker was down.
    scheduleToCloseTimeout: input.wait.progressRefreshMs * 2 + 300_000,
    retry: { initialInterval: input.wait.minPollMs, backoffCoefficient: 1, maximumInterval: input.wait.maxPollMs },
    summary: 'wait for the batch',
  });
  return { io, quick, poll };
}

/**
 * One chunk of one round (workflow id `<jobId>/r<round>/c<chunk>`): upload, create exactly once,
 * wait, collect. Reports progress and its result to the job by signal. Cancelled, it cancels its
 * OpenAI batch, waits for `cancelled`, collects the partial results, reports them, and ends cancelled.
 */
export async function openAIBatchChunk(input: ChunkInput, resume?: ChunkResume): Promise<ChunkResult> {
  const { io, quick, poll } = activities(input);
  const { round, chunk } = input;
  const batchIds = [...(resume?.batchIds ?? [])];
  let batchId = resume?.batchId;
  let progress: ChunkProgress = { round, index: chunk.index, phase: resume ? 'waiting' : 'uploading', batchId, done: 0, total: chunk.requests };
  setHandler(chunkProgressQuery, () => progress);
  const job = getExternalWorkflowHandle(input.jobWorkflowId);
  // The job's extendDeadline update moves this later. A wait already running keeps the old
  // deadline; when it ends on that one, the chunk waits again instead of cancelling.
  let deadline = input.deadlineMs;
  let deadlineMoved = false;
  setHandler(chunkDeadlineSignal, ({ deadlineMs }) => {
    if (deadline !== undefined && deadlineMs > deadline) {
      deadline = deadlineMs;
      deadlineMoved = true;
    }
  });

  async function report(next: Partial<ChunkProgress>, notifyJob: boolean): Promise<void> {
    progress = { ...progress, ...next };
    setCurrentDetails(
      `**Chunk** ${chunk.index} of round ${round} (job \`${input.jobId}\`): ${progress.phase}` +
        (progress.batchId ? `, batch \`${progress.batchId}\` ${progress.batchStatus ?? ''} ${progress.done}/${progress.total}` : ''),
    );
    if (notifyJob) await job.signal(chunkProgressSignal, progress).catch(() => undefined);
  }

  async function collect(end: ChunkEnd, snapshot?: BatchSnapshot, extra: { cancelledByDeadline?: boolean; reason?: string } = {}): Promise<ChunkResult> {
    await report({ phase: 'collecting' }, false);
    const outcome = await io.collectChunk.executeWithOptions({ summary: `collect ${end} batch ${snapshot?.batchId || '(none)'}: round ${round}, chunk ${chunk.index}` }, [{
      jobId: input.jobId,
      round,
      chunkIndex: chunk.index,
      chunkUri: chunk.uri,
      endpoint: input.endpoint,
      batchId: snapshot?.batchId ?? '',
      end,
      outputFileId: snapshot?.outputFileId,
      errorFileId: snapshot?.errorFileId,
      batchErrors: snapshot?.errors ?? (extra.reason ? [{ code: 'chunk_failed', message: extra.reason }] : undefined),
      jsonSchema: input.jsonSchema,
      retryInvalidOutput: input.retryInvalidOutput,
      cancelledByDeadline: extra.cancelledByDeadline,
    }]);
    return { round, index: chunk.index, end, batchIds: [...batchIds], estimatedCostUsd: chunk.estimatedCostUsd, reason: extra.reason, ...outcome };
  }

  /** Polls until terminal or deadline, waking every refresh interval to report progress. */
  async function waitFor(id: string, cancelling = false): Promise<BatchSnapshot> {
    let nextPollAtMs: number | undefined;
    for (;;) {
      let snapshot: BatchSnapshot;
      try {
        snapshot = await poll.waitForBatch({
          batchId: id,
          schedule: {
            minDelayMs: input.wait.minPollMs,
            maxDelayMs: input.wait.maxPollMs,
            fractionOfElapsed: 0.05,
            validatingDelayMs: input.wait.validatingPollMs,
          },
          refreshMs: input.wait.progressRefreshMs,
          deadlineMs: cancelling ? undefined : deadline,
          nextPollAtMs,
        });
      } catch (err) {
        // The schedule-to-close bound passed (a worker was down): start a fresh wait.
        if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) continue;
        throw err;
      }
      if (snapshot.terminal || snapshot.deadlineReached) return snapshot;
      nextPollAtMs = snapshot.nextPollAtMs;
      await report({ phase: 'waiting', batchStatus: snapshot.status, done: snapshot.completed + snapshot.failed }, true);
      const info = workflowInfo();
      const longHistory = input.continueAsNewAfterEvents !== undefined && info.historyLength >= input.continueAsNewAfterEvents;
      if (!cancelling && (info.continueAsNewSuggested || longHistory) && resumeState) {
        log.info('chunk continuing as new', { historyLength: info.historyLength, batchId: id });
        await continueAsNew<typeof openAIBatchChunk>(deadline === input.deadlineMs ? input : { ...input, deadlineMs: deadline }, resumeState);
      }
    }
  }

  async function cancelAndCollect(id: string, cancelledByDeadline: boolean): Promise<ChunkResult> {
    await report({ phase: 'cancelling' }, false);
    await quick.cancelBatch.executeWithOptions({ summary: `cancel batch ${id}` }, [{ batchId: id }]);
    const snapshot = await waitFor(id, true);
    const end: ChunkEnd = snapshot.status === 'completed' || snapshot.status === 'expired' || snapshot.status === 'failed' ? snapshot.status : 'cancelled';
    return await collect(end, snapshot, { cancelledByDeadline });
  }

  let fileId = resume?.fileId;
  let attempt = resume?.attempt ?? 1;
  let resumeState: ChunkResume | undefined;
  // True while a create may have reached OpenAI without its answer reaching this workflow.
  let creating = false;
  const key = (): string => `${input.jobId}:${input.jobRunId ?? '-'}:r${round}:c${chunk.index}:a${attempt}`;
  const pastDeadline = (): boolean => deadline !== undefined && Date.now() >= deadline;

  async function run(): Promise<ChunkResult> {
    if (!fileId) {
      const filename = `${workflowInfo().workflowId.replaceAll('/', '_')}.jsonl`;
      fileId = (await io.uploadChunk.executeWithOptions({ summary: `upload ${chunk.requests} requests (${chunk.bytes} bytes) as ${filename}` }, [{ chunkUri: chunk.uri, filename, expiresAfterSeconds: input.fileTtlSeconds }])).fileId;
    }
    for (;;) {
      if (!batchId) {
        if (pastDeadline()) return await collect('not_submitted', undefined, { cancelledByDeadline: true, reason: 'deadline passed before submission' });
        await report({ phase: 'submitting' }, false);
        creating = true;
        const created = await quick.createBatch.executeWithOptions({ summary: `create the batch of ${fileId} exactly once (key ${key()})` }, [{
          jobId: input.jobId,
          round,
          chunk: chunk.index,
          inputFileId: fileId,
          endpoint: input.endpoint,
          idempotencyKey: key(),
          notBeforeMs: input.jobStartedAtMs,
          outputExpiresAfterSeconds: input.fileTtlSeconds,
        }]);
        if (!created) throw new Error('createBatch returned no batch');
        creating = false;
        batchId = created.batchId;
        batchIds.push(batchId);
      }
      resumeState = { fileId, attempt, batchIds: [...batchIds], batchId };
      await report({ phase: 'waiting', batchId }, true);
      const snapshot = await waitFor(batchId);
      if (snapshot.deadlineReached && deadlineMoved && !pastDeadline()) continue;
      if (snapshot.deadlineReached) return await cancelAndCollect(batchId, true);
      if (snapshot.status === 'failed' && snapshot.errors?.some((e) => e.code === 'token_limit_exceeded')) {
        // The organization's enqueued-token queue is full: wait, then submit the same file again.
        log.info('token_limit_exceeded; resubmitting later', { batchId, attempt });
        await report({ phase: 'token_limit_backoff', batchStatus: 'failed' }, true);
        const wait = deadline === undefined ? input.wait.tokenLimitBackoffMs : Math.min(input.wait.tokenLimitBackoffMs, Math.max(0, deadline - Date.now()));
        await sleep(wait, { summary: 'token_limit_exceeded: wait before resubmitting' });
        attempt += 1;
        batchId = undefined;
        continue;
      }
      return await collect(snapshot.status as ChunkEnd, snapshot);
    }
  }

  let result: ChunkResult;
  try {
    result = await run();
  } catch (err) {
    // Continue-as-new is thrown as an error; it is not a failure of the chunk.
    if (err instanceof ContinueAsNew) throw err;
    if (!isCancellation(err)) {
      const fatal = fatalFailure(err);
      const reason = fatal?.message ?? (err instanceof Error ? err.message : String(err));
      // Report what is known so the job can finish, then fail visibly.
      await CancellationScope.nonCancellable(async () => {
        const failed = await collect('failed', undefined, { reason }).catch(() => undefined);
        const result = failed ?? emptyChunkResult({ round, index: chunk.index, estimatedCostUsd: chunk.estimatedCostUsd, batchIds, reason });
        await job.signal(chunkDoneSignal, fatal ? { ...result, failureType: fatal.type } : result).catch(() => undefined);
      });
      throw err;
    }
    await CancellationScope.nonCancellable(async () => {
      let id = batchId;
      if (!id && fileId && creating) {
        // A create may have reached OpenAI before the cancellation: find it by its key.
        const found = await quick.createBatch({
          jobId: input.jobId, round, chunk: chunk.index, inputFileId: fileId, endpoint: input.endpoint,
          idempotencyKey: key(), notBeforeMs: input.jobStartedAtMs, adoptOnly: true,
        });
        if (found) { id = found.batchId; batchIds.push(id); }
      }
      const partial = id ? await cancelAndCollect(id, false) : await collect('cancelled', undefined, { reason: 'cancelled before submission' });
      await report({ phase: 'done' }, false);
      await job.signal(chunkDoneSignal, partial).catch(() => undefined);
    });
    throw err;
  }
  await report({ phase: 'done', done: progress.total }, false);
  await job.signal(chunkDoneSignal, result).catch(() => undefined);
  return result;
}

/** Failure types that would fail every chunk alike: the job stops instead of trying the rest. */
const FATAL_TYPES = new Set(['OpenAIBatch.Auth']);

/** The fatal OpenAI failure under an activity failure, if that is what it is. */
function fatalFailure(err: unknown): { type: string; message: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type && FATAL_TYPES.has(e.type)) return { type: e.type, message: e.message };
  }
  return undefined;
}
