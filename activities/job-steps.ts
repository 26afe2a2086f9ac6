import type OpenAI from 'openai';
import { planJob } from '../src/plan/index.ts';
import { finalizeJob, reconcileChunk } from '../src/reconcile/index.ts';
import type { BlobStorage } from '../src/storage/index.ts';
import type { ChunkEnd, ChunkLimits, ModelPrice, RoundPlan, RowStatus, TokenUsage } from '../common/job-types.ts';
import { FAILURE_TYPES } from '../common/failures.ts';
import { downloadFile as download } from './download-file.ts';
import { withHeartbeats } from './heartbeat.ts';
import { inputFix, JOB_FILE_ATTEMPTS, jobFilesFix, stepFailure } from './step-failures.ts';
import type { BatchErrorRef } from './openai-batches.ts';

/** Input of `planJob` (round 1) and `planRetryRound` (round > 1). */
export interface PlanInput {
  readonly jobId: string;
  readonly inputUri: string;
  readonly endpoint: string;
  readonly onInvalid: 'fail' | 'skip';
  readonly limits?: ChunkLimits | undefined;
  readonly prices?: Record<string, ModelPrice> | undefined;
}

/** Input of `planRetryRound`: the previous round's retry files become the next round's input. */
export interface PlanRetryInput {
  readonly jobId: string;
  readonly round: number;
  readonly endpoint: string;
  readonly retryUris: readonly string[];
  readonly limits?: ChunkLimits | undefined;
  readonly prices?: Record<string, ModelPrice> | undefined;
}

/** Input of `collectChunk`. */
export interface CollectChunkInput {
  readonly jobId: string;
  readonly round: number;
  readonly chunkIndex: number;
  readonly chunkUri: string;
  readonly endpoint: string;
  readonly batchId: string;
  readonly end: ChunkEnd;
  readonly outputFileId?: string | undefined;
  readonly errorFileId?: string | undefined;
  readonly batchErrors?: readonly BatchErrorRef[] | undefined;
  readonly jsonSchema?: Record<string, unknown> | undefined;
  readonly retryInvalidOutput?: boolean | undefined;
  readonly cancelledByDeadline?: boolean | undefined;
  /** The job recovers a chunk that ended without reporting: write records of its own, never over the chunk's. */
  readonly recovered?: boolean | undefined;
}

/** What `collectChunk` returns: references and counts. */
export interface CollectChunkResult {
  readonly recordsUri: string;
  readonly retryUri?: string | undefined;
  readonly retryCount: number;
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly usage: TokenUsage;
}

/** Input of `finalizeJob`. */
export interface FinalizeInput {
  readonly jobId: string;
  readonly inputUri: string;
  readonly model: string;
  readonly endpoint: string;
  readonly rounds: readonly {
    round: number;
    chunks: readonly { index: number; recordsUri: string; batchId: string }[];
  }[];
  readonly prices?: Record<string, ModelPrice> | undefined;
  readonly rejected?: { count: number; uri?: string | undefined } | undefined;
  readonly extra?: Record<string, unknown> | undefined;
}

/** What `finalizeJob` returns. */
export interface FinalizeResult {
  readonly resultsUri: string;
  readonly failuresUri: string;
  readonly reportUri: string;
  readonly rows: number;
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly usage: TokenUsage;
  readonly costUsd: number;
  readonly syncCostUsd: number;
}

export const INVALID_INPUT_TYPE = FAILURE_TYPES.invalidInput;

export function createJobStepActivities(openai: () => OpenAI, storage: BlobStorage) {
  async function plan(input: PlanInput, round: number): Promise<RoundPlan> {
    try {
      const manifest = await withHeartbeats(() =>
        planJob(
          {
            jobId: input.jobId,
            inputUri: resolveUri(storage, input.inputUri),
            endpoint: input.endpoint,
            round,
            onInvalid: input.onInvalid,
            ...(input.limits ? { limits: input.limits } : {}),
            ...(input.prices ? { prices: input.prices } : {}),
          } as Parameters<typeof planJob>[0],
          storage,
        ),
      );
      return manifest;
    } catch (err) {
      throw round === 1
        ? stepFailure(err, inputFix(storage.rootUri))
        : stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: JOB_FILE_ATTEMPTS });
    }
  }

  return {
    /** Validates and chunks the job's input; fails (not retryable) naming bad lines when `onInvalid` is 'fail'. */
    async planJob(input: PlanInput): Promise<RoundPlan> {
      return await plan(input, 1);
    },

    /** Merges the previous round's retry files and chunks them as round `round`. */
    async planRetryRound(input: PlanRetryInput): Promise<RoundPlan> {
      const inputUri = storage.jobUri(input.jobId, `r${input.round}`, 'retry-input.jsonl');
      async function* merged(): AsyncGenerator<Uint8Array | string> {
        for (const uri of input.retryUris) {
          let last = 10;
          for await (const part of await storage.openRead(uri)) {
            if (part.length > 0) last = part[part.length - 1] ?? 10;
            yield part;
          }
          if (last !== 10) yield '\n';
        }
      }
      await withHeartbeats(() => storage.writeAtomic(inputUri, merged())).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: JOB_FILE_ATTEMPTS });
      });
      return await plan(
        {
          jobId: input.jobId,
          inputUri,
          endpoint: input.endpoint,
          onInvalid: 'skip',
          limits: input.limits,
          prices: input.prices,
        },
        input.round,
      );
    },

    /** Downloads a batch's output and error files into storage, then reconciles every row of the chunk. */
    async collectChunk(input: CollectChunkInput): Promise<CollectChunkResult> {
      return await collect(input).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: JOB_FILE_ATTEMPTS });
      });
    },

    /** Writes results.jsonl, failures.jsonl and report.json; returns their URIs and the totals. */
    async finalizeJob(input: FinalizeInput): Promise<FinalizeResult> {
      return await finalize(input).catch((err: unknown) => {
        throw stepFailure(
          err,
          `${jobFilesFix(storage.rootUri)} (finalize also reads the job's input, ${input.inputUri})`,
          { fatalFromAttempt: JOB_FILE_ATTEMPTS },
        );
      });
    },
  };

  async function collect(input: CollectChunkInput): Promise<CollectChunkResult> {
    const dir = [`r${input.round}`, `c${input.chunkIndex}`];
    const outputUri = input.outputFileId
      ? await download(
          openai(),
          storage,
          input.outputFileId,
          storage.jobUri(input.jobId, ...dir, `${input.batchId}-output.jsonl`),
        )
      : undefined;
    const errorUri = input.errorFileId
      ? await download(
          openai(),
          storage,
          input.errorFileId,
          storage.jobUri(input.jobId, ...dir, `${input.batchId}-errors.jsonl`),
        )
      : undefined;
    const outcome = await withHeartbeats(() =>
      reconcileChunk(
        {
          jobId: input.jobId,
          round: input.round,
          chunkIndex: input.chunkIndex,
          chunkUri: input.chunkUri,
          batchId: input.batchId || null,
          batchStatus: input.end,
          endpoint: input.endpoint,
          ...(outputUri ? { outputUri } : {}),
          ...(errorUri ? { errorUri } : {}),
          ...(input.batchErrors ? { batchErrors: input.batchErrors } : {}),
          ...(input.jsonSchema ? { jsonSchema: input.jsonSchema } : {}),
          ...(input.retryInvalidOutput ? { retryInvalidOutput: true } : {}),
          ...(input.cancelledByDeadline ? { cancelledByDeadline: true } : {}),
          ...(input.recovered ? { recovered: true } : {}),
        } as Parameters<typeof reconcileChunk>[0],
        storage,
      ),
    );
    return {
      recordsUri: outcome.recordsUri,
      retryUri: outcome.retryUri,
      retryCount: outcome.retryCount,
      counts: outcome.counts,
      usage: outcome.usage,
    };
  }

  async function finalize(input: FinalizeInput): Promise<FinalizeResult> {
    const report = await withHeartbeats(() =>
      finalizeJob(
        {
          ...input,
          inputUri: resolveUri(storage, input.inputUri),
          rounds: input.rounds.map((r) => ({
            round: r.round,
            chunks: r.chunks.map((c) => ({ ...c, batchId: c.batchId || null })),
          })),
        } as Parameters<typeof finalizeJob>[0],
        storage,
      ),
    );
    return {
      resultsUri: report.resultsUri,
      failuresUri: report.failuresUri,
      reportUri: report.reportUri,
      rows: report.rows,
      counts: report.counts,
      usage: report.usage,
      costUsd: report.costUsd,
      syncCostUsd: report.syncCostUsd,
    };
  }
}

/** A bare path is taken relative to the storage root; URIs pass through. */
function resolveUri(storage: BlobStorage, uriOrPath: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uriOrPath) || uriOrPath.startsWith('/')) return uriOrPath;
  return `${storage.rootUri.replace(/\/$/, '')}/${uriOrPath}`;
}
