import { estimateCost, type PriceTable } from '../cost/index.ts';
import { openLineWriter, readJsonlRawBatches, type LineWriter } from '../jsonl/index.ts';
import {
  embeddingInputCount,
  maxOutputTokens,
  validateRequestLine,
  type BatchEndpoint,
  type RequestIssue,
} from '../requests/index.ts';
import { StorageError, type BlobStorage } from '../storage/index.ts';
import { parseSliceUri, sliceChanged, SliceChangedError } from '../storage/slice-uri.ts';
import { ChunkBuilder, type ChunkSource } from './chunk-builder.ts';
import type { ChunkLimits } from '../../common/job-types.ts';
import { resolveLimits } from './chunk-limits.ts';
import { CustomIdIndex, OrdinalColumn } from './custom-id-index.ts';
import { IdFingerprints } from './id-fingerprints.ts';
import { InvalidInputCollector, InvalidInputError } from './invalid-input-report.ts';
import type { JobManifest } from './manifest.ts';
import { TokenEstimator, type TokenCounting } from './token-estimator.ts';
import { deleteStaleChunks } from './stale-chunks.ts';

/** The planning activity's input. */
export interface PlanJobInput {
  jobId: string;
  /** The request lines: a storage URI (file:// under the root, or a path relative to it). */
  inputUri: string;
  endpoint: BatchEndpoint;
  /** Retry rounds plan their retry file with the round number. @default 0 */
  round?: number;
  /**
   * `fail`: any bad line stops the job before anything is uploaded. `skip`: bad lines go to rejected.jsonl.
   * @default 'fail'
   */
  onInvalid?: 'fail' | 'skip';
  limits?: ChunkLimits | undefined;
  /** Price overrides per model (USD per 1M tokens, synchronous). */
  prices?: PriceTable;
  /** @default 'exact' with a token budget, otherwise 'sampled' */
  tokenCounting?: TokenCounting;
  /** @default 512 */
  maxCustomIdLength?: number;
  /**
   * Where to keep the plan's snapshot of the input: a copy made within the storage (S3 CopyObject,
   * a local clone), whose bytes the chunks then are slices of wherever its lines are unchanged, so
   * that no chunk file is written for them. The snapshot belongs to this planning attempt alone
   * (nothing else writes it), so the job never depends on the input staying as it is. Unset: every
   * chunk is a file of its own, as for a retry round.
   */
  snapshotUri?: string;
  /**
   * The input is a file of the job's own that nothing else writes while the job runs (the CLI's
   * copy of a local file, `<jobId>/input-<tag>.jsonl`; see job-input-file.ts): chunks are slices of it as they are of a
   * snapshot, and no snapshot is made, so a job does not store its input twice. Wins over
   * `snapshotUri`.
   */
  inputIsJobFile?: boolean;
}

/** S3 copies an object of up to 5 GiB in one CopyObject; a larger input's chunks are files. */
const MAX_SNAPSHOT_BYTES = 5 * 1024 ** 3;

/** What a planning pass reads, and the version its slices are pinned to (none: chunks are files). */
interface PlanSource {
  readonly readUri: string;
  readonly slices?: ChunkSource & { readonly version: Promise<string> };
}

/**
 * Streams the input once: validates every line, packs valid ones into chunk files under
 * `<jobId>/r<round>/c<index>/input.jsonl`, and returns a manifest of URIs and counts.
 *
 * Unique custom_ids are first checked in bulk at the end (IdFingerprints): far cheaper than a hash
 * lookup per line. Only when that finds a possible repeat is the input planned again with a
 * per-line index, which names each duplicate's line; the first attempt's files are removed first.
 * Either way the chunks are the same bytes.
 */
export async function planJob(input: PlanJobInput, storage: BlobStorage): Promise<JobManifest> {
  let source: PlanSource | undefined;
  try {
    source = await planSource(input, storage);
    const manifest =
      (await planPass(input, storage, 'deferred', source)) ?? (await planPass(input, storage, 'indexed', source));
    // The indexed pass always plans (it names duplicates instead of giving up).
    if (!manifest) throw new Error('the indexed planning pass returned no plan');
    // A snapshot no chunk is a slice of (every chunk had to be a file) is not kept.
    const snapshot = source.slices?.uri;
    if (
      snapshot &&
      snapshot !== input.inputUri &&
      !manifest.chunks.some((c) => parseSliceUri(c.uri)?.base === snapshot)
    )
      await storage.delete(snapshot);
    return manifest;
  } catch (err) {
    // A failed plan leaves nothing behind: no chunk, no snapshot (also one copied before a later
    // step failed).
    if (input.snapshotUri && !input.inputIsJobFile) {
      // A copy still running would land after the delete.
      await source?.slices?.version.catch(() => undefined);
      await storage.delete(input.snapshotUri).catch(() => undefined);
    }
    if (!(err instanceof StorageError) || !(input.snapshotUri || input.inputIsJobFile)) throw err;
    if (input.snapshotUri && !input.inputIsJobFile && err.uri.startsWith(input.snapshotUri))
      throw new SnapshotError(err);
    // The input was written while it was being read or copied: the next attempt plans it again.
    if (err instanceof SliceChangedError)
      throw new Error(`${input.inputUri} was written while the job was being planned from it; planning again`, {
        cause: err,
      });
    throw err;
  }
}

/**
 * A storage error on the plan's own snapshot (its copy, a read of it), not on the user's input:
 * the caller treats it as one on the job's files (retried a few times), not as a bad `inputUri`.
 */
export class SnapshotError extends StorageError {
  constructor(cause: StorageError) {
    super(cause.message, cause.uri, { cause });
  }
}

/** The snapshot to plan from (or the job's own input), when one is asked for and S3 can copy the input in one step. */
async function planSource(input: PlanJobInput, storage: BlobStorage): Promise<PlanSource> {
  // A missing input fails here, naming the file (as its read would).
  const size = await storage.size(input.inputUri);
  const own = input.inputIsJobFile === true;
  if (!own && (!input.snapshotUri || size > MAX_SNAPSHOT_BYTES)) return { readUri: input.inputUri };
  // The copy runs within the storage while the plan reads the input itself, both pinned to the
  // version read now: the copy is made only of that version (a conditional copy), and the read is
  // a slice of it, so the lines planned are the snapshot's bytes. Run one after the other, the copy
  // of a 1 GB input took about as long as the planning (bench/README.md, s3-job, session 13).
  // The size belongs to that version: read between two looks at the version that agree.
  const seen = await storage.version(input.inputUri);
  const bytes = await storage.size(input.inputUri);
  const read = { uri: input.inputUri, version: await storage.version(input.inputUri) };
  if (read.version !== seen)
    throw sliceChanged(input.inputUri, { base: input.inputUri, offset: 0, length: 0, version: seen }, read.version);
  const readUri = storage.sliceUri(read.uri, read.version, 0, bytes);
  // The job's own file is sliced as it is: the version read pins its chunks.
  if (own) return { readUri, slices: { uri: input.inputUri, version: Promise.resolve(read.version), read } };
  const snapshotUri = input.snapshotUri as string;
  const version = storage.copyWithin(input.inputUri, snapshotUri, read.version);
  // Awaited where chunks are committed and at the end; never left to reject unobserved meanwhile.
  version.catch(() => undefined);
  return { readUri, slices: { uri: snapshotUri, version, read } };
}

/** One planning pass; with `deferred` id checks, undefined (and nothing left in storage) when ids may repeat. */
async function planPass(
  input: PlanJobInput,
  storage: BlobStorage,
  idCheck: 'deferred' | 'indexed',
  source: PlanSource,
): Promise<JobManifest | undefined> {
  const { jobId, endpoint } = input;
  const round = input.round ?? 0;
  const onInvalid = input.onInvalid ?? 'fail';
  const limits = resolveLimits(input.limits);
  const counting: TokenCounting = input.tokenCounting ?? (limits.maxTokensPerBatch ? 'exact' : 'sampled');
  // Chunks are slices of the input where its lines can be sent as they are (no copy written); the
  // version read now pins them, and the input must still be that version when the plan ends.
  const chunkUri = (i: number): string => storage.jobUri(jobId, `r${round}`, `c${i}`, 'input.jsonl');
  const chunks = new ChunkBuilder(storage, limits, chunkUri, source.slices);
  const collector = new InvalidInputCollector(input.inputUri, endpoint);
  const fingerprints = idCheck === 'deferred' ? new IdFingerprints() : undefined;
  const ids = new CustomIdIndex();
  const firstLine = new OrdinalColumn();
  const warnings: string[] = [];
  let model: string | undefined;
  let estimator: TokenEstimator | undefined;
  let rejected: LineWriter | undefined;
  let writing = true;
  const validateOptions = input.maxCustomIdLength !== undefined ? { maxCustomIdLength: input.maxCustomIdLength } : {};
  // Sampled counting without a token budget needs only each chunk's total: no line waits for the
  // tokenizer's process (a round trip per sample, ~5,000 in a million lines); each estimate is
  // charged to its chunk once known, and the totals are read at the end.
  const deferTokens = counting === 'sampled' && limits.maxTokensPerBatch === undefined;
  let chunkIndex = 0;

  const reject = async (line: number, offset: number, issues: RequestIssue[], text?: string): Promise<void> => {
    collector.add(line, issues);
    if (onInvalid === 'fail') {
      // Keep validating for the report, but stop writing: a failed plan leaves no chunk behind.
      if (writing) await chunks.discard();
      writing = false;
      return;
    }
    rejected ??= openLineWriter(storage, storage.jobUri(jobId, `r${round}`, 'rejected.jsonl'));
    await rejected.writeLine(
      JSON.stringify({ line, offset, reasons: issues, ...(text !== undefined ? { text } : {}) }),
    );
  };

  try {
    const lines = await storage.openRead(source.readUri);
    // Each batch (one read) is handled synchronously; the loop awaits only when a chunk fills, the
    // disk is behind, or a line is rejected, so a million lines do not cost a million awaits.
    for await (const batch of readJsonlRawBatches(lines, { maxLineBytes: limits.maxBytes - 1 })) {
      for (const item of batch) {
        if (item.kind === 'bom') {
          warnings.push(BOM_DROPPED_WARNING);
          continue;
        }
        collector.report.totalLines++;
        if (item.kind !== 'line') {
          const issue: RequestIssue =
            item.kind === 'invalid_utf8'
              ? {
                  reason: 'invalid_utf8',
                  message: `the line has bytes that are not valid UTF-8 (${item.bytes} bytes at offset ${item.offset})`,
                }
              : {
                  reason: 'line_too_long',
                  message: `the line is ${item.bytes} bytes; one batch holds at most ${limits.maxBytes}`,
                };
          await reject(item.lineNumber, item.offset, [issue]);
          continue;
        }
        // Decoded one line at a time, not per read: strings that die at once keep V8's young
        // generation small (a read's worth of live strings made it grow to 128 MB).
        const text = item.raw.toString('utf8');
        const result = validateRequestLine(text, endpoint, validateOptions);
        if (!result.ok) {
          await reject(item.lineNumber, item.offset, result.issues, text);
          continue;
        }
        const { customId, body } = result.request;
        let issues: RequestIssue[] | undefined;
        if (model === undefined) {
          model = result.request.model;
          estimator = await TokenEstimator.create(model, endpoint, counting);
        } else if (result.request.model !== model) {
          (issues ??= []).push({
            reason: 'model_mismatch',
            field: 'body.model',
            message: `body.model is "${result.request.model}" but the job's first request uses "${model}"`,
          });
        }
        if (fingerprints) fingerprints.add(customId);
        else {
          const ord = ids.add(customId);
          if (ord < 0) {
            (issues ??= []).push({
              reason: 'duplicate_custom_id',
              field: 'custom_id',
              message: `custom_id "${customId}" is already used on line ${firstLine.get(-ord - 1)}`,
            });
          } else firstLine.set(ord, item.lineNumber);
        }
        const inputs = endpoint === '/v1/embeddings' ? embeddingInputCount(body) : 0;
        if (inputs > limits.maxEmbeddingInputs) {
          (issues ??= []).push({
            reason: 'too_many_inputs',
            field: 'body.input',
            message: `body.input has ${inputs} inputs; one batch allows ${limits.maxEmbeddingInputs}`,
          });
        }
        let tokens = 0;
        if (deferTokens) {
          (estimator as TokenEstimator).defer(body);
          if ((estimator as TokenEstimator).behind) await (estimator as TokenEstimator).caughtUp();
        } else {
          const estimate = (estimator as TokenEstimator).estimate(body);
          tokens = typeof estimate === 'number' ? estimate : await estimate;
        }
        if (limits.maxTokensPerBatch !== undefined && tokens > limits.maxTokensPerBatch) {
          (issues ??= []).push({
            reason: 'too_many_tokens',
            message: tooManyTokensMessage(tokens, limits.maxTokensPerBatch),
          });
        }
        if (issues) {
          await reject(item.lineNumber, item.offset, issues, text);
          continue;
        }
        collector.report.validLines++;
        if (!writing) continue;
        const size = {
          bytes: item.raw.length + 1,
          tokens,
          embeddingInputs: inputs,
          maxOutputTokens: maxOutputTokens(body),
        };
        if (!chunks.fits(size)) {
          await chunks.closeChunk();
          chunkIndex++;
        }
        if (deferTokens) (estimator as TokenEstimator).charge(chunkIndex);
        if (!chunks.append(item.raw, size, item)) await chunks.flush();
      }
    }
    if (fingerprints?.hasRepeats()) {
      await chunks.discard();
      await rejected?.abort();
      rejected = undefined;
      return undefined;
    }
    if (onInvalid === 'fail' && (collector.report.invalidLines > 0 || collector.report.validLines === 0)) {
      throw new InvalidInputError(collector.report);
    }
    const tokenTotals = deferTokens && estimator ? await estimator.totals() : undefined;
    await chunks.finish();
    const rejectedFile = rejected ? await rejected.close() : undefined;
    rejected = undefined;
    if (source.slices) {
      // The copy is done, and the input is still the version it copied and this plan read (a
      // local file rewritten in place during the read would otherwise go unnoticed).
      await source.slices.version;
      const { uri, version } = source.slices.read;
      const now = await storage.version(uri);
      if (now !== version) throw sliceChanged(uri, { base: uri, offset: 0, length: 0, version }, now);
    }
    await deleteStaleChunks(
      storage,
      jobId,
      round,
      [...chunks.chunks.map((c) => c.uri), ...(source.slices ? [source.slices.uri] : [])],
      rejectedFile !== undefined,
    );
    const jobModel = model ?? '';
    const manifestChunks = chunks.chunks.map(({ maxOutputTokens: maxOut, ...chunk }) => {
      const c = tokenTotals ? { ...chunk, estimatedInputTokens: tokenTotals[chunk.index] ?? 0 } : chunk;
      return {
        ...c,
        estimatedCostUsd: estimateCost(
          c.estimatedInputTokens,
          jobModel,
          maxOut,
          input.prices ? { prices: input.prices } : {},
        ),
      };
    });
    return {
      jobId,
      round,
      endpoint,
      model: jobModel,
      totalRequests: collector.report.validLines,
      totalBytes: manifestChunks.reduce((n, c) => n + c.bytes, 0),
      estimatedInputTokens: manifestChunks.reduce((n, c) => n + c.estimatedInputTokens, 0),
      estimatedCostUsd: Math.round(manifestChunks.reduce((n, c) => n + c.estimatedCostUsd, 0) * 1e9) / 1e9,
      chunks: manifestChunks,
      rejected: rejectedFile ? { count: collector.report.invalidLines, uri: rejectedFile.uri } : { count: 0 },
      warnings,
      tokenCounting: counting,
    };
  } catch (err) {
    await chunks.discard();
    await rejected?.abort();
    throw err;
  } finally {
    estimator?.close();
  }
}

const BOM_DROPPED_WARNING =
  'the input starts with a UTF-8 byte-order mark; it is left out of the chunk files (Azure rejects files with one)';

function tooManyTokensMessage(tokens: number, maxTokensPerBatch: number): string {
  return `the request needs about ${tokens} prompt tokens; the per-batch budget is ${maxTokensPerBatch}`;
}
