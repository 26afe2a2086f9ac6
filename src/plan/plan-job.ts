import { estimateCost, type PriceTable } from '../cost/index.ts';
import { openLineWriter, readJsonlRawBatches, type LineWriter } from '../jsonl/index.ts';
import {
  embeddingInputCount,
  maxOutputTokens,
  validateRequestLine,
  type BatchEndpoint,
  type RequestIssue,
} from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import { ChunkBuilder } from './chunk-builder.ts';
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
  return (await planPass(input, storage, 'deferred')) ?? ((await planPass(input, storage, 'indexed')) as JobManifest);
}

/** One planning pass; with `deferred` id checks, undefined (and nothing left in storage) when ids may repeat. */
async function planPass(
  input: PlanJobInput,
  storage: BlobStorage,
  idCheck: 'deferred' | 'indexed',
): Promise<JobManifest | undefined> {
  const { jobId, endpoint } = input;
  const round = input.round ?? 0;
  const onInvalid = input.onInvalid ?? 'fail';
  const limits = resolveLimits(input.limits);
  const counting: TokenCounting = input.tokenCounting ?? (limits.maxTokensPerBatch ? 'exact' : 'sampled');
  const chunks = new ChunkBuilder(storage, limits, (i) => storage.jobUri(jobId, `r${round}`, `c${i}`, 'input.jsonl'));
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
    const source = await storage.openRead(input.inputUri);
    // Each batch (one read) is handled synchronously; the loop awaits only when a chunk fills, the
    // disk is behind, or a line is rejected, so a million lines do not cost a million awaits.
    for await (const batch of readJsonlRawBatches(source, { maxLineBytes: limits.maxBytes - 1 })) {
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
        if (!chunks.append(item.raw, size)) await chunks.flush();
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
    await deleteStaleChunks(storage, jobId, round, chunks.chunks.length, rejectedFile !== undefined);
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
