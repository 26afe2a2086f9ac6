import { addUsage, emptyUsage, type TokenUsage } from '../cost/index.ts';
import { openLineWriter, readJsonlRawBatches, type LineWriter } from '../jsonl/index.ts';
import type { BatchEndpoint } from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import { classifyOutputLine } from './classify-output-line.ts';
import { parseOutputLine } from './parse-output-line.ts';
import { isRetryable } from './retryable.ts';
import { CustomIdIndex } from '../plan/custom-id-index.ts';
import { customIdOfRaw, recordLine, type RowRecord } from './row-record.ts';
import { emptyCounts, ROW_STATUSES, type ChunkRowStatus } from './row-status.ts';
import { unmatchedRowFate } from './unmatched-row-fate.ts';

export interface BatchErrorEntry {
  code?: string;
  message?: string;
  line?: number | null;
  param?: string | null;
}

export interface ReconcileChunkInput {
  jobId: string;
  round: number;
  chunkIndex: number;
  /** The chunk's request lines, as planned. */
  chunkUri: string;
  batchId: string | null;
  batchStatus: 'completed' | 'expired' | 'cancelled' | 'failed' | 'not_submitted';
  /** OpenAI's output file, already copied into storage. */
  outputUri?: string;
  /** OpenAI's error file, already copied into storage. */
  errorUri?: string;
  /** The batch's `errors.data` when it failed validation; `line` is 1-based in the chunk file. */
  batchErrors?: BatchErrorEntry[];
  /** The JSON schema succeeded content must match (raw, or `{ name, schema, strict }`). */
  jsonSchema?: object;
  /** @default false */
  retryInvalidOutput?: boolean;
  /** @default false */
  cancelledByDeadline?: boolean;
  /**
   * Written by the job's recovery of a chunk that ended without reporting: the records go to
   * `records-recovered.jsonl` (and `retry-recovered.jsonl`), never over what the chunk wrote.
   * @default false
   */
  recovered?: boolean;
  endpoint: BatchEndpoint;
}

export interface ChunkOutcome {
  recordsUri: string;
  retryUri?: string;
  retryCount: number;
  counts: Record<ChunkRowStatus, number>;
  /** Output or error rows seen twice, and rows for custom_ids not in the chunk: counted, never merged. */
  anomalies: { duplicates: number; unknown: number };
  /** Every billed token of the chunk's rows, including failed and invalid ones. */
  usage: TokenUsage;
}

const UNSEEN = 255;

/**
 * Produces exactly one record per custom_id of the chunk from OpenAI's output and error files.
 * Memory: a hashed index of the chunk's ids (no strings kept: 50,000 long-lived strings per chunk
 * made V8's young generation grow to 128 MB) and a few bytes per row; bodies are written as they
 * stream past. The chunk file is read as bytes (ids are cut from the start of each line), and read
 * again only for rows that neither file mentions and for rows to retry.
 */
export async function reconcileChunk(input: ReconcileChunkInput, storage: BlobStorage): Promise<ChunkOutcome> {
  const dir = [`r${input.round}`, `c${input.chunkIndex}`];
  const ids = new CustomIdIndex();
  // The line number of each row's first line, so later passes find rows without ids.
  let rowLine = new Uint32Array(1024);
  for await (const batch of readJsonlRawBatches(await storage.openRead(input.chunkUri))) {
    for (const item of batch) {
      if (item.kind !== 'line') continue;
      const id = customIdOfRaw(item.raw);
      if (id === undefined) continue;
      const row = ids.add(id);
      if (row < 0) continue;
      if (row === rowLine.length) {
        const grown = new Uint32Array(row * 2);
        grown.set(rowLine);
        rowLine = grown;
      }
      rowLine[row] = item.lineNumber;
    }
  }
  const rowStatus = new Uint8Array(ids.size).fill(UNSEEN);
  const counts = emptyCounts();
  const anomalies = { duplicates: 0, unknown: 0 };
  const usage = emptyUsage();
  const schema = unwrapSchema(input.jsonSchema);
  const records = openLineWriter(
    storage,
    storage.jobUri(input.jobId, ...dir, input.recovered ? 'records-recovered.jsonl' : 'records.jsonl'),
  );

  /** Records one row's outcome; false when the caller must `await records.flush()`. */
  // Fields are passed one by one rather than spread into new objects: three object spreads per
  // row were a measurable part of reconciling a million rows.
  const emit = (
    row: number,
    customId: string,
    rec: Pick<RowRecord, 'status' | 'request_id' | 'error' | 'usage' | 'response'>,
    responseJson?: string,
  ): boolean => {
    const retryable = isRetryable({
      status: rec.status,
      code: rec.error?.code,
      httpStatus: rec.error?.http_status,
      cancelledByDeadline: input.cancelledByDeadline,
      retryInvalidOutput: input.retryInvalidOutput,
    });
    rowStatus[row] = ROW_STATUSES.indexOf(rec.status) | (retryable ? 0x80 : 0);
    counts[rec.status]++;
    if (rec.usage) addUsage(usage, rec.usage);
    return records.appendLine(
      recordLine(
        {
          custom_id: customId,
          status: rec.status,
          round: input.round,
          chunk: input.chunkIndex,
          batch_id: input.batchId,
          retryable,
          request_id: rec.request_id,
          error: rec.error,
          usage: rec.usage,
          response: rec.response,
        },
        responseJson,
      ),
    );
  };

  try {
    for (const uri of [input.outputUri, input.errorUri]) {
      if (!uri) continue;
      for await (const batch of readJsonlRawBatches(await storage.openRead(uri))) {
        for (const item of batch) {
          if (item.kind !== 'line') continue;
          // Decoded per line, not per read, so no read's worth of strings outlives a scavenge.
          const parsed = parseOutputLine(item.raw.toString('utf8'));
          if (!parsed) {
            anomalies.unknown++;
            continue;
          }
          const { line, bodyJson } = parsed;
          const id = typeof line.custom_id === 'string' ? line.custom_id : undefined;
          const row = id === undefined ? -1 : ids.get(id);
          if (row < 0) anomalies.unknown++;
          else if (rowStatus[row] !== UNSEEN) anomalies.duplicates++;
          else {
            const classified = classifyOutputLine(line, input.endpoint, schema);
            // The body's own JSON text, when the record carries the body as it came.
            const responseJson =
              bodyJson !== undefined && classified.response !== null && classified.response === line.response?.body
                ? bodyJson
                : undefined;
            if (!emit(row, id as string, classified, responseJson)) await records.flush();
          }
        }
      }
    }
    const fate = unmatchedRowFate(
      input.batchStatus,
      input.batchErrors ?? [],
      input.batchId !== null,
      input.cancelledByDeadline === true,
    );
    if (rowStatus.includes(UNSEEN)) {
      for await (const { row, raw } of chunkRows(storage, input.chunkUri, rowLine, rowStatus.length)) {
        if (rowStatus[row] !== UNSEEN) continue;
        const { status, error } = fate(row + 1);
        if (!emit(row, customIdOfRaw(raw) as string, { status, request_id: null, error, usage: null, response: null }))
          await records.flush();
      }
    }
    // With rows to retry, the records file's last blocks and rename overlap the retry pass (they
    // took ~30 ms a chunk with nothing else to do). Without, the records file is committed first:
    // removing a stale retry.jsonl prunes an empty directory, which must not race the records
    // file's creation there.
    const retrying = rowStatus.some((st) => (st & 0x80) !== 0);
    let recordsUri: string;
    let retry: { uri?: string; count: number };
    if (retrying) {
      const [closed, retried] = await Promise.allSettled([
        records.close(),
        writeRetryLines(storage, input, dir, rowStatus, rowLine),
      ]);
      if (closed.status === 'rejected') throw closed.reason;
      if (retried.status === 'rejected') throw retried.reason;
      recordsUri = closed.value.uri;
      retry = retried.value;
    } else {
      recordsUri = (await records.close()).uri;
      retry = await writeRetryLines(storage, input, dir, rowStatus, rowLine);
    }
    return {
      recordsUri,
      ...(retry.uri ? { retryUri: retry.uri } : {}),
      retryCount: retry.count,
      counts,
      anomalies,
      usage,
    };
  } catch (err) {
    await records.abort();
    throw err;
  }
}

function unwrapSchema(s: object | undefined): object | undefined {
  if (!s) return undefined;
  const wrapped = s as { schema?: unknown; strict?: unknown; json_schema?: { schema?: unknown } };
  if (wrapped.json_schema?.schema && typeof wrapped.json_schema.schema === 'object') return wrapped.json_schema.schema;
  if (wrapped.schema && typeof wrapped.schema === 'object' && 'strict' in wrapped) return wrapped.schema;
  return s;
}

/** The chunk file's rows (each custom_id's first line) in order, with their bytes. */
async function* chunkRows(
  storage: BlobStorage,
  chunkUri: string,
  rowLine: Uint32Array,
  rows: number,
): AsyncGenerator<{ row: number; raw: Buffer }> {
  let row = 0;
  for await (const batch of readJsonlRawBatches(await storage.openRead(chunkUri))) {
    for (const item of batch) {
      // Lines that are not a row's first line (repeated ids, lines without one) are not rows.
      if (item.kind !== 'line' || row >= rows || item.lineNumber !== rowLine[row]) continue;
      yield { row: row++, raw: item.raw };
    }
  }
}

/** Copies the exact request lines of retryable rows from the chunk file; never rebuilds them. */
async function writeRetryLines(
  storage: BlobStorage,
  input: ReconcileChunkInput,
  dir: string[],
  rowStatus: Uint8Array,
  rowLine: Uint32Array,
): Promise<{ uri?: string; count: number }> {
  const uri = storage.jobUri(input.jobId, ...dir, input.recovered ? 'retry-recovered.jsonl' : 'retry.jsonl');
  if (!rowStatus.some((s) => (s & 0x80) !== 0)) {
    await storage.delete(uri);
    return { count: 0 };
  }
  const writer: LineWriter = openLineWriter(storage, uri);
  let row = 0;
  try {
    for await (const batch of readJsonlRawBatches(await storage.openRead(input.chunkUri))) {
      for (const item of batch) {
        // Lines that are not a row's first line (repeated ids, lines without one) are not rows.
        if (item.kind !== 'line' || row >= rowStatus.length || item.lineNumber !== rowLine[row]) continue;
        if (((rowStatus[row++] as number) & 0x80) !== 0 && !writer.appendLine(item.raw)) await writer.flush();
      }
    }
    const done = await writer.close();
    return { uri: done.uri, count: done.lines };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
