import { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { isJobInputFile, planJob, SnapshotError, type JobManifest } from '../src/plan/index.ts';
import { finalizeJob, reconcileChunk } from '../src/reconcile/index.ts';
import { readJsonlRawBatches } from '../src/jsonl/index.ts';
import { readSmallText, StorageError, type BlobStorage } from '../src/storage/index.ts';
import type {
  ChunkEnd,
  ChunkLimits,
  ChunkRef,
  ChunkResult,
  ModelPrice,
  RoundPlan,
  RowStatus,
  TokenUsage,
} from '../common/job-types.ts';
import { FAILURE_TYPES } from '../common/failures.ts';
import { downloadFile as download } from './download-file.ts';
import type { CrashHook } from './crash-point.ts';
import { withHeartbeats } from './heartbeat.ts';
import { withMetricTags } from './metrics.ts';
import { inputFix, JOB_FILE_ATTEMPTS, jobFilesFix, stepFailure } from './step-failures.ts';
import type { BatchErrorRef } from './openai-batches.ts';
import {
  checkBatchDeployment,
  checkEndpointOffered,
  providerChunkLimits,
} from '../src/openai/providers/provider-checks.ts';
import type { ProviderProfile } from '../src/openai/providers/provider-profile.ts';
import { explainBatchError } from '../src/openai/providers/explain-batch-error.ts';

/** The worker's provider as planning needs it: its profile, and Azure's batch deployments when known. */
export interface PlanningProvider {
  readonly profile: ProviderProfile;
  readonly batchDeployments?: readonly string[] | undefined;
}

/** Input of `planJob` (round 1) and `planRetryRound` (round > 1). */
export interface PlanInput {
  readonly jobId: string;
  readonly inputUri: string;
  readonly endpoint: string;
  readonly onInvalid: 'fail' | 'skip';
  readonly limits?: ChunkLimits | undefined;
  readonly prices?: Record<string, ModelPrice> | undefined;
  /** Write the chunk list to storage and return none of it (`chunkCount`, `chunksUri`): see `readPlanChunks`. */
  readonly chunksInStorage?: boolean | undefined;
}

/** Input of `planRetryRound`: the previous round's retry files become the next round's input. */
export interface PlanRetryInput {
  readonly jobId: string;
  readonly round: number;
  readonly endpoint: string;
  readonly retryUris: readonly string[];
  /** Stored result parts (`storeChunkResults`) whose retryable rows no round has taken; read before `retryUris`. */
  readonly retryParts?: readonly number[] | undefined;
  /** Stored parts `from` to `to` (exclusive) to read as `retryParts` are; a part without untaken rows adds none. */
  readonly retryPartRange?: { readonly from: number; readonly to: number } | undefined;
  readonly limits?: ChunkLimits | undefined;
  readonly prices?: Record<string, ModelPrice> | undefined;
  readonly chunksInStorage?: boolean | undefined;
}

/** Input of `readPlanChunks`: a page of a round's chunk list. */
export interface ReadPlanChunksInput {
  readonly chunksUri: string;
  /** Index of the first chunk of the page. */
  readonly offset: number;
  readonly limit: number;
}

/** A chunk result as a stored part holds it: `retryTaken` when a round took its retryable rows before it was stored. */
export type StoredChunkResult = ChunkResult & { readonly retryTaken?: boolean | undefined };

/** Input of `storeChunkResults`: one part of the job's chunk results, written once. */
export interface StoreChunkResultsInput {
  readonly jobId: string;
  readonly part: number;
  readonly results: readonly StoredChunkResult[];
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
  /** The job's metric labels (job_name, endpoint, model) for what the activity records. */
  readonly metricTags?: Record<string, string> | undefined;
}

/** Input of `collectNotSubmitted`: chunks of one round that were never started, recorded in one step. */
export interface CollectNotSubmittedInput {
  readonly jobId: string;
  readonly round: number;
  readonly endpoint: string;
  readonly chunks: readonly { readonly index: number; readonly uri: string }[];
  readonly end: Extract<ChunkEnd, 'cancelled' | 'not_submitted'>;
}

/** What `collectNotSubmitted` heartbeats: the outcomes of the chunks recorded so far, in order. */
interface NotSubmittedProgress {
  readonly notSubmitted: CollectChunkResult[];
}

/** The outcomes an earlier attempt heartbeated (at most `chunks` of them), or none. */
function resumedOutcomes(details: unknown, chunks: number): CollectChunkResult[] {
  const done = (details as Partial<NotSubmittedProgress> | undefined)?.notSubmitted;
  if (!Array.isArray(done) || done.length > chunks) return [];
  return done.every((o: Partial<CollectChunkResult>) => typeof o?.recordsUri === 'string') ? [...done] : [];
}

/** What `collectChunk` returns: references and counts. */
export interface CollectChunkResult {
  readonly recordsUri: string;
  readonly retryUri?: string | undefined;
  readonly retryCount: number;
  readonly counts: Partial<Record<RowStatus, number>>;
  readonly usage: TokenUsage;
  /** Why the chunk's rows could not be recorded (`recordsUri` is then empty); collectNotSubmitted only. */
  readonly unrecorded?: string | undefined;
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
  /** The job's chunk results are in stored parts p0..p<n-1> (besides `rounds`): merge them and write `chunks.jsonl`. */
  readonly storedParts?: number | undefined;
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
  /** `chunks.jsonl`: every chunk's result, when they came from stored parts. */
  readonly chunksUri?: string | undefined;
}

export const INVALID_INPUT_TYPE = FAILURE_TYPES.invalidInput;

export function createJobStepActivities(
  openai: () => OpenAI,
  storage: BlobStorage,
  provider: PlanningProvider,
  crash: CrashHook = () => undefined,
  jobFileAttempts = JOB_FILE_ATTEMPTS,
) {
  async function plan(input: PlanInput, round: number): Promise<RoundPlan> {
    // The first round plans from a snapshot of this attempt's own (see PlanJobInput), its chunks
    // slices of it; from the job's own input file (the CLI's copy) as it is. A retry round's input
    // is this step's own file already; its chunks are files.
    const inputUri = resolveUri(storage, input.inputUri);
    const inputIsJobFile = round === 1 && isJobInputFile(storage, input.jobId, inputUri);
    const snapshotUri =
      round === 1 && !inputIsJobFile
        ? storage.jobUri(input.jobId, 'r1', `input-a${Context.current().info.attempt}.jsonl`)
        : undefined;
    let manifest: JobManifest;
    try {
      // What the provider cannot run is refused here, before a chunk is written or uploaded.
      checkEndpointOffered(provider.profile, input.endpoint);
      const limits = providerChunkLimits(provider.profile, input.limits);
      manifest = await withHeartbeats(() =>
        planJob(
          {
            jobId: input.jobId,
            inputUri,
            endpoint: input.endpoint,
            round,
            onInvalid: input.onInvalid,
            limits,
            ...(input.prices ? { prices: input.prices } : {}),
            ...(snapshotUri ? { snapshotUri } : {}),
            ...(inputIsJobFile ? { inputIsJobFile } : {}),
          } as Parameters<typeof planJob>[0],
          storage,
        ),
      );
    } catch (err) {
      // Round 1 reads the user's input; what it writes in the round's folder (chunks,
      // rejected.jsonl, its snapshot), and every later round's input, are the job's files.
      const roundFolder = `${storage.jobUri(input.jobId, `r${round}`)}/`;
      const ownFile = err instanceof SnapshotError || (err instanceof StorageError && err.uri.startsWith(roundFolder));
      throw round === 1 && !ownFile
        ? stepFailure(err, inputFix(storage.rootUri))
        : stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
    }
    try {
      if (manifest.chunks.length > 0) checkBatchDeployment(provider.profile, manifest.model, provider.batchDeployments);
      if (!input.chunksInStorage) return manifest;
      const chunksUri = storage.jobUri(input.jobId, `r${round}`, 'plan-chunks.jsonl');
      await storage.writeAtomic(chunksUri, jsonLines(manifest.chunks));
      return { ...manifest, chunks: [], chunkCount: manifest.chunks.length, chunksUri };
    } catch (err) {
      // This attempt's plan is not used: its snapshot (as large as the input) would be left behind,
      // since the next attempt plans from a snapshot of its own.
      if (snapshotUri) await storage.delete(snapshotUri).catch(() => undefined);
      // The chunk list is the job's own file, not the user's input.
      throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
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
      const range = input.retryPartRange;
      const parts = [
        ...(input.retryParts ?? []),
        ...(range ? Array.from({ length: Math.max(0, range.to - range.from) }, (_, i) => range.from + i) : []),
      ];
      const partUris = parts.map((part) => chunkResultsUri(storage, input.jobId, part));
      async function* merged(): AsyncGenerator<Uint8Array | string> {
        for (const uri of [...(await untakenRetryUris(storage, partUris)), ...input.retryUris]) {
          let last = 10;
          for await (const part of await storage.openRead(uri)) {
            if (part.length > 0) last = part[part.length - 1] ?? 10;
            yield part;
          }
          if (last !== 10) yield '\n';
        }
      }
      await withHeartbeats(() => storage.writeAtomic(inputUri, merged())).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
      });
      return await plan(
        {
          jobId: input.jobId,
          inputUri,
          endpoint: input.endpoint,
          onInvalid: 'skip',
          limits: input.limits,
          prices: input.prices,
          chunksInStorage: input.chunksInStorage,
        },
        input.round,
      );
    },

    /** A page of a round's chunk list, as `planJob` wrote it with `chunksInStorage`. */
    async readPlanChunks(input: ReadPlanChunksInput): Promise<ChunkRef[]> {
      return await withHeartbeats(() =>
        readJsonLinesPage<ChunkRef>(storage, input.chunksUri, input.offset, input.limit),
      ).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
      });
    },

    /**
     * Writes one part of the job's chunk results. A part's number is never reused within a job's
     * run of workflows, so a retried store writes the same content again; a part left by an earlier
     * job with the same id (started again, or reset) is overwritten, never taken for this one's.
     */
    async storeChunkResults(input: StoreChunkResultsInput): Promise<void> {
      const uri = chunkResultsUri(storage, input.jobId, input.part);
      try {
        await storage.writeAtomic(uri, jsonLines(input.results));
      } catch (err) {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
      }
    },

    /** Downloads a batch's output and error files into storage, then reconciles every row of the chunk. */
    async collectChunk(input: CollectChunkInput): Promise<CollectChunkResult> {
      return await withMetricTags(input.metricTags, () => collect(input)).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
      });
    },

    /**
     * Records every row of chunks that were never started (a cancelled job's rest), one chunk after
     * another: one activity for up to a part's worth of chunks instead of one each, so that the
     * cancel of a job of thousands of chunks stays a few hundred events long.
     */
    async collectNotSubmitted(input: CollectNotSubmittedInput): Promise<CollectChunkResult[]> {
      // Up to a part (100 chunks) in one attempt: the outcomes so far are heartbeated, so a retry
      // (a worker killed, a storage error) resumes after the chunks already recorded.
      const context = Context.current();
      const outcomes = resumedOutcomes(context.info.heartbeatDetails, input.chunks.length);
      const details = (): NotSubmittedProgress => ({ notSubmitted: outcomes });
      for (const chunk of input.chunks.slice(outcomes.length)) {
        const outcome = await collect(
          {
            jobId: input.jobId,
            round: input.round,
            chunkIndex: chunk.index,
            chunkUri: chunk.uri,
            endpoint: input.endpoint,
            batchId: '',
            end: input.end,
          },
          details,
        ).catch((err: unknown) => {
          const failure = stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
          // This chunk's file cannot be read after the attempts (the retries resumed here): it is
          // recorded without records, and the part's other chunks still get theirs.
          if (failure instanceof ApplicationFailure && failure.type === FAILURE_TYPES.storage && failure.nonRetryable)
            return {
              recordsUri: '',
              retryCount: 0,
              counts: {},
              usage: { input: 0, cachedInput: 0, output: 0, reasoning: 0 },
              unrecorded: failure.message,
            };
          throw failure;
        });
        outcomes.push(outcome);
        context.heartbeat(details());
        crash('between-not-submitted');
      }
      return outcomes;
    },

    /** Writes results.jsonl, failures.jsonl and report.json; returns their URIs and the totals. */
    async finalizeJob(input: FinalizeInput): Promise<FinalizeResult> {
      return await finalize(input).catch((err: unknown) => {
        throw stepFailure(
          err,
          `${jobFilesFix(storage.rootUri)} (finalize also reads the job's input, ${input.inputUri})`,
          { fatalFromAttempt: jobFileAttempts },
        );
      });
    },
  };

  /** `details`: what the activity's heartbeats carry meanwhile (collectNotSubmitted's progress). */
  async function collect(input: CollectChunkInput, details?: () => unknown): Promise<CollectChunkResult> {
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
    const outcome = await withHeartbeats(
      () =>
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
            ...(input.batchErrors
              ? { batchErrors: input.batchErrors.map((e) => explainBatchError(provider.profile, e)) }
              : {}),
            ...(input.jsonSchema ? { jsonSchema: input.jsonSchema } : {}),
            ...(input.retryInvalidOutput ? { retryInvalidOutput: true } : {}),
            ...(input.cancelledByDeadline ? { cancelledByDeadline: true } : {}),
            ...(input.recovered ? { recovered: true } : {}),
          } as Parameters<typeof reconcileChunk>[0],
          storage,
        ),
      details,
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
    const stored = input.storedParts === undefined ? undefined : await withHeartbeats(() => storedRounds(input));
    const rounds = stored?.rounds ?? input.rounds;
    const report = await withHeartbeats(() =>
      finalizeJob(
        {
          ...input,
          inputUri: resolveUri(storage, input.inputUri),
          rounds: rounds.map((r) => ({
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
      ...(stored ? { chunksUri: stored.chunksUri } : {}),
    };
  }

  /** The stored parts merged with `input.rounds` (the first result of a chunk counts), and chunks.jsonl written. */
  async function storedRounds(input: FinalizeInput): Promise<{ rounds: FinalizeInput['rounds']; chunksUri: string }> {
    const seen = new Set<string>();
    const results: ChunkResult[] = [];
    for (let part = 0; part < (input.storedParts ?? 0); part++) {
      for (const { retryTaken: _taken, ...r } of await readJsonLines<StoredChunkResult>(
        storage,
        chunkResultsUri(storage, input.jobId, part),
      )) {
        const key = `r${r.round}/c${r.index}`;
        if (seen.has(key)) continue;
        seen.add(key);
        results.push(r);
      }
    }
    const chunksUri = storage.jobUri(input.jobId, 'chunks.jsonl');
    await storage.writeAtomic(chunksUri, jsonLines(results));
    const byRound = new Map<number, { index: number; recordsUri: string; batchId: string }[]>();
    for (const r of input.rounds) byRound.set(r.round, [...r.chunks]);
    for (const r of results) {
      if (r.recordsUri === '') continue;
      const chunks = byRound.get(r.round) ?? [];
      chunks.push({ index: r.index, recordsUri: r.recordsUri, batchId: r.batchIds.at(-1) ?? '' });
      byRound.set(r.round, chunks);
    }
    const rounds = [...byRound.entries()]
      .sort(([a], [b]) => a - b)
      .map(([round, chunks]) => ({ round, chunks: chunks.sort((a, b) => a.index - b.index) }));
    return { rounds, chunksUri };
  }
}

/** `<job dir>/chunk-results/p<part>.jsonl`: one part of a job's chunk results. */
function chunkResultsUri(storage: BlobStorage, jobId: string, part: number): string {
  return storage.jobUri(jobId, 'chunk-results', `p${part}.jsonl`);
}

/** The retry files of the stored results whose rows no round has taken yet, part by part. */
async function untakenRetryUris(storage: BlobStorage, partUris: readonly string[]): Promise<string[]> {
  const uris: string[] = [];
  for (const uri of partUris) {
    for (const r of await readJsonLines<StoredChunkResult>(storage, uri)) {
      if (r.retryCount > 0 && r.retryUri && !r.retryTaken) uris.push(r.retryUri);
    }
  }
  return uris;
}

/** One JSON line per item, as `writeAtomic`'s source. */
function jsonLines(items: readonly unknown[]): AsyncIterable<string> {
  return Readable.from(items.map((item) => `${JSON.stringify(item)}\n`)) as AsyncIterable<string>;
}

/** A small JSONL file (a plan's chunk list, a part of chunk results), parsed. */
async function readJsonLines<T>(storage: BlobStorage, uri: string): Promise<T[]> {
  return (await readSmallText(storage, uri))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/**
 * Lines `offset` to `offset + limit` of a JSONL file, parsed. The lines before are split but not
 * parsed or decoded, and the read stops after the page: a round reads its chunk list a page at a
 * time, and parsing the whole list for each page made a round cost chunks² / page parses.
 */
async function readJsonLinesPage<T>(storage: BlobStorage, uri: string, offset: number, limit: number): Promise<T[]> {
  const page: T[] = [];
  if (limit <= 0) return page;
  let index = 0;
  for await (const batch of readJsonlRawBatches(await storage.openRead(uri))) {
    for (const item of batch) {
      if (item.kind === 'bom') continue;
      if (item.kind !== 'line') throw new Error(`${uri} line ${item.lineNumber} is not a chunk (${item.kind})`);
      if (index++ < offset) continue;
      page.push(JSON.parse(item.raw.toString('utf8')) as T);
      if (page.length >= limit) return page;
    }
  }
  return page;
}

/** A bare path is taken relative to the storage root; URIs pass through. */
function resolveUri(storage: BlobStorage, uriOrPath: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uriOrPath) || uriOrPath.startsWith('/')) return uriOrPath;
  return `${storage.rootUri.replace(/\/$/, '')}/${uriOrPath}`;
}
