// JSON-safe types of the job and chunk workflows and their activities. Types only: sandbox-safe.
// Everything here is a reference (URI, id, count), never a request or result body.

import type { BatchStatus } from './batch-status.ts';

/**
 * The statuses a row ends in (mirrors the reconciler's `RowStatus`); `rejected` only in the job's
 * final counts: an input line planning refused with onInvalid 'skip'. `cancelled`: its batch was
 * cancelled before the row ran (`error.code` `batch_cancelled`), or the job was cancelled before
 * the row was submitted (`not_submitted`). A chunk skipped for the budget, the deadline or a
 * refused API key leaves its rows `failed` / `not_submitted`.
 */
export type RowStatus = 'succeeded' | 'failed' | 'expired' | 'cancelled' | 'missing' | 'invalid_output' | 'rejected';

/** Token totals of a chunk, round or job. */
export interface TokenUsage {
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
  readonly reasoning: number;
}

/** Price per million tokens for one model (batch prices are derived by the cost module). */
export interface ModelPrice {
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
}

/** Limits a chunk must respect, passed to planning. */
export interface ChunkLimits {
  readonly maxRequests?: number;
  readonly maxBytes?: number;
  readonly maxEmbeddingInputs?: number;
  /** Estimated prompt tokens per batch (your tier's enqueued-token limit). */
  readonly maxTokensPerBatch?: number;
}

/** Durations of the wait, in milliseconds (and one count); workflow inputs so that tests run in seconds. */
export interface WaitOptions {
  /** Shortest delay between polls. @default 60_000 */
  readonly minPollMs?: number;
  /** Longest delay between polls. @default 3_600_000 */
  readonly maxPollMs?: number;
  /** First delay while a batch validates. @default 2_000 */
  readonly validatingPollMs?: number;
  /**
   * How often the chunk workflow wakes to report its progress to the job (each wake costs two
   * Temporal actions: a new wait activity and a signal). Between wakes the UI's pending activity
   * shows every poll ("in_progress 1200/5000"). @default 7_200_000 (2 hours)
   */
  readonly progressRefreshMs?: number;
  /** Wait after `token_limit_exceeded` before resubmitting the chunk. @default 600_000 */
  readonly tokenLimitBackoffMs?: number;
  /** Heartbeat timeout of every activity: how soon a dead worker's activity is retried. @default 60_000 */
  readonly heartbeatTimeoutMs?: number;
  /**
   * Resubmissions of a chunk after `token_limit_exceeded` (a count, not a duration), each after
   * about `tokenLimitBackoffMs` (±20%, so chunks do not resubmit together). Past it the chunk's rows
   * are recorded `failed` with code `token_limit_exceeded`, which is retryable: the next round (or
   * an operator's retry) takes them. @default 36
   */
  readonly maxTokenLimitRetries?: number;
  /**
   * A webhook receiver (`openai-batch webhooks`) wakes the chunks when their batches end, so the
   * polls, the fallback for lost deliveries, stretch: at most 25% of the elapsed time instead of
   * 5%, up to twice `maxPollMs`, and progress wakes every twice `progressRefreshMs`. If every
   * delivery is lost, an end is noticed that much later. @default false
   */
  readonly webhooks?: boolean;
  /**
   * How long the job waits, at least, for the cancelled batch of a chunk that ended without
   * reporting (an operator terminated it) to end, before it records that chunk's rows with what is
   * known (OpenAI takes up to 10 minutes to cancel). @default 3_600_000 (1 hour)
   */
  readonly recoveryWaitMs?: number;
}

/** The Batch API endpoints a job can target (one per job: every line's `url`). */
export type BatchEndpoint =
  '/v1/chat/completions' | '/v1/responses' | '/v1/embeddings' | '/v1/completions' | '/v1/moderations';

/** Input of `openAIBatchJob`. Validated by the client helper before it reaches Temporal. */
export interface JobInput {
  /** Stable id of the job; names its storage folder and tags its batches. @default the workflow id */
  readonly jobId?: string;
  /** A name for the job, shown in the UI and search attributes. */
  readonly name?: string;
  /** URI (or path under the storage root) of the input JSONL. */
  readonly inputUri: string;
  /** The OpenAI endpoint every line targets. */
  readonly endpoint: BatchEndpoint;
  /** What to do with invalid lines. @default 'fail' */
  readonly onInvalid?: 'fail' | 'skip';
  /** At most this many batches in flight. @default 10 */
  readonly maxActiveBatches?: number;
  /** Retry rounds for retryable rows, counting the first. @default 3 */
  readonly maxRounds?: number;
  /** Chunking limits. @default OpenAI's (50,000 requests, 200 MB) */
  readonly limits?: ChunkLimits;
  /** Prices per model, per million tokens. */
  readonly prices?: Record<string, ModelPrice>;
  /** Do not submit a chunk whose estimated cost would exceed what remains of this budget. */
  readonly maxCostUsd?: number;
  /** Epoch milliseconds (or ISO date) after which the job cancels what runs and finalizes. */
  readonly deadline?: number | string;
  /** JSON schema every response's content must satisfy, else `invalid_output`. */
  readonly jsonSchema?: Record<string, unknown>;
  /** Resubmit `invalid_output` rows in the next round. @default false */
  readonly retryInvalidOutput?: boolean;
  /** Waiting durations. */
  readonly wait?: WaitOptions;
  /**
   * Continue-as-new (the job and its chunk workflows) once a history reaches this many events, besides when
   * Temporal suggests it. @default undefined
   */
  readonly continueAsNewAfterEvents?: number;
  /**
   * Seconds after which OpenAI deletes the files the job leaves there (uploaded chunks, batch
   * output and error files; their contents are in the job's storage by then), 3,600 to 2,592,000.
   * Without it, uploaded files stay until deleted and count against the organization's storage.
   * At least `wait.maxPollMs` + 30 minutes (refused otherwise): a finished batch is noticed up to
   * `maxPollMs` late, and its output must still be there to download.
   * @default 604_800 (7 days)
   */
  readonly openaiFileTtlSeconds?: number;
}

/** One chunk of a round, as planning wrote it. */
export interface ChunkRef {
  readonly index: number;
  readonly uri: string;
  readonly requests: number;
  readonly bytes: number;
  readonly estimatedInputTokens: number;
  readonly estimatedCostUsd: number;
}

/** What planning returns (the manifest, minus nothing: it holds only references and counts). */
export interface RoundPlan {
  readonly jobId: string;
  readonly round: number;
  readonly endpoint: string;
  readonly model: string;
  readonly totalRequests: number;
  readonly totalBytes: number;
  readonly estimatedInputTokens: number;
  readonly estimatedCostUsd: number;
  /** The round's chunks; empty when they are in storage (`chunksUri`), read a page at a time. */
  readonly chunks: readonly ChunkRef[];
  /** How many chunks the round has, when `chunks` is not the whole list. */
  readonly chunkCount?: number | undefined;
  /** The round's chunks, one `ChunkRef` per line, when they are kept in storage. */
  readonly chunksUri?: string | undefined;
  readonly rejected: { readonly count: number; readonly uri?: string | undefined };
}

/** Input of the per-chunk workflow. */
export interface ChunkInput {
  readonly jobId: string;
  readonly jobWorkflowId: string;
  readonly round: number;
  readonly chunk: ChunkRef;
  readonly endpoint: string;
  readonly model: string;
  /** The job's name, a label of the chunk's metrics (absent for chunks started before it was passed). */
  readonly jobName?: string | undefined;
  /** Epoch ms the job started: batches older than this are never adopted. */
  readonly jobStartedAtMs: number;
  /** The job's first run id: part of every idempotency key, so a job id reused later never adopts an old batch. */
  readonly jobRunId?: string | undefined;
  /** Continue-as-new at this history length, besides when Temporal suggests it (the job's option). */
  readonly continueAsNewAfterEvents?: number | undefined;
  readonly deadlineMs?: number | undefined;
  readonly jsonSchema?: Record<string, unknown> | undefined;
  readonly retryInvalidOutput?: boolean | undefined;
  readonly wait: Required<WaitOptions>;
  /** `expires_after` of the uploaded file and `output_expires_after` of the batch, in seconds. */
  readonly fileTtlSeconds?: number | undefined;
}

/** How a chunk ended. */
export type ChunkEnd = 'completed' | 'expired' | 'cancelled' | 'failed' | 'not_submitted';

/** What a chunk workflow reports to its job (by signal) and returns. */
export interface ChunkResult {
  readonly round: number;
  readonly index: number;
  readonly end: ChunkEnd;
  /** Every batch created for the chunk (more than one after `token_limit_exceeded`). */
  readonly batchIds: readonly string[];
  readonly recordsUri: string;
  readonly retryUri?: string | undefined;
  readonly retryCount: number;
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly usage: TokenUsage;
  readonly estimatedCostUsd: number;
  /** Why, when the chunk was not submitted or its batch failed. */
  readonly reason?: string | undefined;
  /** Why the chunk's rows could not be recorded, when `recordsUri` is empty for that reason. */
  readonly unrecorded?: string | undefined;
  /**
   * The failure type when the chunk failed for a reason that fails every chunk alike
   * (`OpenAIBatch.Auth`: a wrong or revoked API key); the job then stops submitting.
   */
  readonly failureType?: string | undefined;
}

/** A chunk's live state, sent to the job at each progress refresh. */
export interface ChunkProgress {
  readonly round: number;
  readonly index: number;
  readonly phase: 'uploading' | 'submitting' | 'waiting' | 'token_limit_backoff' | 'collecting' | 'cancelling' | 'done';
  readonly batchId?: string | undefined;
  readonly batchStatus?: BatchStatus | undefined;
  readonly done: number;
  readonly total: number;
  /** When `done` was seen (the poll), epoch ms, when known. */
  readonly observedAtMs?: number | undefined;
}

/** The job's phase, also its `OpenAIBatchJobStatus` search attribute. */
export type JobPhase =
  'planning' | 'running' | 'finalizing' | 'completed' | 'deadline_exceeded' | 'failed' | 'cancelled';

/** What the `progress` query returns. */
export interface JobProgress {
  readonly jobId: string;
  readonly phase: JobPhase;
  readonly round: number;
  readonly totalRequests: number;
  /** Rows with a final state in finished chunks, plus rows done in running batches. */
  readonly rowsDone: number;
  /** Rows of the current round (`percent` is `rowsDone` of these). */
  readonly roundRequests?: number;
  /** When the current round started, epoch ms. */
  readonly roundStartedAtMs?: number;
  readonly percent: number;
  readonly chunks: {
    readonly planned: number;
    readonly active: number;
    readonly done: number;
    readonly skipped: number;
  };
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly usage: TokenUsage;
  /** An upper bound: every submitted request's prompt plus its max output tokens, at batch prices. */
  readonly estimatedCostUsd: number;
  readonly batchIds: readonly string[];
  readonly active: readonly ChunkProgress[];
  /** When the rows done were last seen (the latest poll or chunk result the counts come from), epoch ms. */
  readonly observedAtMs?: number | undefined;
  /** The deadline, epoch ms, when the job has one. */
  readonly deadlineMs?: number | undefined;
  /**
   * When the round should end at the rate seen so far (rows done per time in this round, up to
   * `observedAtMs`), epoch ms. Absent until 5% of the round's rows are seen done, and when the
   * predicted end has passed. A guide, not a promise: OpenAI works through a batch unevenly.
   */
  readonly etaMs?: number | undefined;
}

/** What the `retryFailedRows` update returns: the retry round it started. */
export interface RetryNowResult {
  readonly round: number;
  /** Rows resubmitted. */
  readonly requests: number;
  readonly chunks: number;
  /** Finished chunks whose retryable rows went into the round. */
  readonly fromChunks: number;
}

/** Input of the `extendDeadline` update. */
export interface ExtendDeadlineRequest {
  /** The new deadline: epoch milliseconds or an ISO 8601 date. Must be later than the current one. */
  readonly deadline: number | string;
}

/** What the `extendDeadline` update returns. */
export interface ExtendDeadlineResult {
  /** ISO 8601. */
  readonly previousDeadline: string;
  /** ISO 8601. */
  readonly deadline: string;
  /** Running chunk workflows told of the new deadline. */
  readonly chunksNotified: number;
}

/** What `openAIBatchJob` returns: small whatever the job's size. */
export interface JobSummary {
  readonly jobId: string;
  /** `failed` only in the details of the job's failure (a refused API key), never as a result. */
  readonly status: 'completed' | 'cancelled' | 'deadline_exceeded' | 'failed';
  readonly model: string;
  readonly endpoint: string;
  readonly rows: number;
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly rounds: readonly {
    readonly round: number;
    readonly chunks: number;
    readonly counts: Partial<Record<RowStatus, number>>;
  }[];
  readonly usage: TokenUsage;
  readonly costUsd: number;
  readonly syncCostUsd: number;
  /** The job's batch ids: every one, or (jobs that keep their results in storage) the newest 100. */
  readonly batchIds: readonly string[];
  /** How many batches the job created, when `batchIds` may be only the newest. */
  readonly batchCount?: number | undefined;
  /** Every chunk's result (one `ChunkResult` per line), when the job keeps them in storage. */
  readonly chunksUri?: string | undefined;
  readonly skippedForBudget: number;
  readonly rejected: number;
  readonly resultsUri: string;
  readonly failuresUri: string;
  readonly reportUri: string;
}
