import { addUsage, costOf, emptyUsage, type PriceTable, type TokenUsage } from '../cost/index.ts';
import { openLineWriter, readJsonlRawBatches, type LineWriter } from '../jsonl/index.ts';
import { CustomIdIndex, OrdinalColumn } from '../plan/custom-id-index.ts';
import { idFingerprint, IdFingerprints } from '../plan/id-fingerprints.ts';
import type { BatchEndpoint } from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import { customIdOfRaw } from './row-record.ts';
import { splitRecordLine } from './split-record-line.ts';
import { readRejectedLines } from './rejected-lines.ts';
import { emptyJobCounts, type RowStatus } from './row-status.ts';

export interface FinalizeJobInput {
  jobId: string;
  inputUri?: string;
  model: string;
  endpoint: BatchEndpoint;
  rounds: { round: number; chunks: { index: number; recordsUri: string; batchId: string | null }[] }[];
  prices?: PriceTable;
  rejected?: { count: number; uri?: string };
  /** Copied into report.json as it is (status, timings, batch ids). */
  extra?: Record<string, unknown>;
}

export interface JobReport {
  resultsUri: string;
  failuresUri: string;
  reportUri: string;
  counts: Record<RowStatus, number>;
  rows: number;
  /** Every billed token across all rounds (superseded attempts included: they were paid for). */
  usage: TokenUsage;
  costUsd: number;
  syncCostUsd: number;
  anomalies: { duplicates: number };
  /** Input lines planning refused: listed in results.jsonl (`rejected`) when they name a custom_id of their own. */
  rejected: RejectedSummary;
}

export interface RejectedSummary {
  /** Every line in rejected.jsonl. */
  count: number;
  uri?: string;
  /** Lines written to results.jsonl with status `rejected` (also `counts.rejected`). */
  inResults: number;
  /** Lines with no usable custom_id (not JSON, not UTF-8, too long, no string id): only in rejected.jsonl. */
  withoutId: number;
  /** Lines whose custom_id is already a row (a valid request, or an earlier rejected line): only in rejected.jsonl. */
  repeatedId: number;
}

type ChunkRef = { round: number; batchId: string | null };
type Round = FinalizeJobInput['rounds'][number];

/** What the merge needs besides the records: where each chunk's batch id is, and which ids were retried. */
interface MergePlan {
  rounds: Round[];
  refs: ChunkRef[];
  refOf: Map<string, number>;
  /** Ids seen in any round after the first, with the position of their last round (1-based). */
  retried: CustomIdIndex;
  lastRound: OrdinalColumn;
  /** The custom_ids of rejected input lines (few), each marked once a row has it. */
  rejectedIds: CustomIdIndex;
}

/** How the merge knows that a custom_id already has its row. */
type RowGuard =
  /** Assume not (round 0's ids are unique by the plan's check); keep each id's fingerprint to check that after. */
  | { kind: 'fingerprints'; fingerprints: IdFingerprints }
  /** Exactly, for the ids whose fingerprint repeated: the only ones that can have a row already. */
  | { kind: 'exact'; suspects: Set<number>; seen: Set<string> };

interface Merged {
  results: LineWriter;
  failures: LineWriter;
  counts: Record<RowStatus, number>;
  usage: TokenUsage;
  duplicates: number;
  /** Per rejected id (by its ordinal in `rejectedIds`): 1 once a row has that custom_id. */
  rejectedIsRow: OrdinalColumn;
}

/**
 * Merges every round's records into one result per custom_id: the latest round's record wins.
 * Then each rejected input line whose custom_id is not already a row gets one `rejected` row, so
 * results.jsonl holds every input custom_id once.
 * Memory: one pass over the retry rounds' ids (they are few) records which round is each id's
 * last; then one streaming pass over all records writes results. No index of every id: the pass
 * keeps an 8-byte fingerprint per row (a hash index cost ~24 bytes an id, 36 while it doubled, and
 * was the largest thing a worker held at the end of a million-row job), and checks them once at
 * the end. Only if two rows may share a custom_id (a duplicate, or a fingerprint collision, ~1e-4
 * at a million rows) is the merge written again, checking those few ids exactly.
 */
export async function finalizeJob(input: FinalizeJobInput, storage: BlobStorage): Promise<JobReport> {
  const rounds = [...input.rounds].sort((a, b) => a.round - b.round);
  const refs: ChunkRef[] = [];
  const refOf = new Map<string, number>();
  rounds.forEach((r, pos) =>
    r.chunks.forEach((c) => refOf.set(`${pos}/${c.index}`, refs.push({ round: r.round, batchId: c.batchId }))),
  );

  const retried = new CustomIdIndex();
  const lastRound = new OrdinalColumn();
  for (let pos = 1; pos < rounds.length; pos++) {
    for (const chunk of (rounds[pos] as Round).chunks) {
      for await (const batch of readJsonlRawBatches(await storage.openRead(chunk.recordsUri))) {
        for (const item of batch) {
          if (item.kind !== 'line') continue;
          const id = customIdOfRaw(item.raw);
          if (id === undefined) continue;
          const ord = retried.add(id);
          lastRound.set(ord < 0 ? -ord - 1 : ord, pos + 1);
        }
      }
    }
  }
  const rejectedIds = new CustomIdIndex();
  if (input.rejected?.uri)
    for await (const batch of readRejectedLines(storage, input.rejected.uri))
      for (const r of batch) if (r.customId !== undefined) rejectedIds.add(r.customId);
  const plan: MergePlan = { rounds, refs, refOf, retried, lastRound, rejectedIds };

  const fingerprints = new IdFingerprints();
  let merged = await mergeRecords(input, storage, plan, { kind: 'fingerprints', fingerprints });
  try {
    const suspects = fingerprints.repeats();
    if (suspects.size > 0) {
      await merged.results.abort();
      await merged.failures.abort();
      merged = await mergeRecords(input, storage, plan, { kind: 'exact', suspects, seen: new Set() });
    }
    const { results, failures, counts, usage, duplicates } = merged;
    const rejected = await appendRejectedRows(storage, input, rounds[0]?.round ?? 0, plan, merged);
    counts.rejected = rejected.inResults;
    const { uri: resultsUri, lines: rows } = await results.close();
    const { uri: failuresUri } = await failures.close();
    const options = input.prices ? { prices: input.prices } : {};
    const costUsd = costOf(usage, input.model, options);
    const syncCostUsd = costOf(usage, input.model, { ...options, batch: false });
    const report = {
      jobId: input.jobId,
      model: input.model,
      endpoint: input.endpoint,
      ...(input.inputUri ? { inputUri: input.inputUri } : {}),
      rows,
      counts,
      rounds: rounds.map((r) => ({
        round: r.round,
        chunks: r.chunks.length,
        batchIds: r.chunks.map((c) => c.batchId),
      })),
      usage,
      costUsd,
      syncCostUsd,
      savedUsd: Math.round((syncCostUsd - costUsd) * 1e9) / 1e9,
      rejected,
      anomalies: { duplicates },
      files: { results: resultsUri, failures: failuresUri },
      ...input.extra,
    };
    const { uri: reportUri } = await storage.writeAtomic(
      storage.jobUri(input.jobId, 'report.json'),
      oneChunk(JSON.stringify(report, null, 2) + '\n'),
    );
    return {
      resultsUri,
      failuresUri,
      reportUri,
      counts,
      rows,
      usage,
      costUsd,
      syncCostUsd,
      anomalies: { duplicates },
      rejected,
    };
  } catch (err) {
    await merged.results.abort();
    await merged.failures.abort();
    throw err;
  }
}

/** One streaming pass over every round's records: writes results.jsonl and failures.jsonl (not yet closed). */
async function mergeRecords(
  input: FinalizeJobInput,
  storage: BlobStorage,
  plan: MergePlan,
  guard: RowGuard,
): Promise<Merged> {
  const { rounds, refs, refOf, retried, lastRound, rejectedIds } = plan;
  // Chunk ref (1-based) per round position for retried ids, so a result can list every batch id.
  const history = rounds.map(() => new OrdinalColumn());
  const rejectedIsRow = new OrdinalColumn();
  const counts = emptyJobCounts();
  const usage = emptyUsage();
  let duplicates = 0;
  /** Whether the id has no row yet (and now has one). */
  const firstRow = (id: string): boolean => {
    if (guard.kind === 'fingerprints') {
      guard.fingerprints.add(id);
      return true;
    }
    if (!guard.suspects.has(idFingerprint(id))) return true;
    if (guard.seen.has(id)) return false;
    guard.seen.add(id);
    return true;
  };

  const results = openLineWriter(storage, storage.jobUri(input.jobId, 'results.jsonl'));
  const failures = openLineWriter(storage, storage.jobUri(input.jobId, 'failures.jsonl'));
  try {
    for (let pos = 0; pos < rounds.length; pos++) {
      const round = rounds[pos] as Round;
      for (const chunk of round.chunks) {
        const ref = refOf.get(`${pos}/${chunk.index}`) as number;
        for await (const batch of readJsonlRawBatches(await storage.openRead(chunk.recordsUri))) {
          for (const item of batch) {
            if (item.kind !== 'line') continue;
            // The response body is copied as text, not parsed and re-serialized (see splitRecordLine);
            // lines are decoded one at a time so that no read's worth of strings outlives a scavenge.
            const { head: rec, responseJson } = splitRecordLine(item.raw.toString('utf8'));
            if (rec.usage) addUsage(usage, rec.usage);
            const ord = retried.get(rec.custom_id);
            if (ord >= 0) {
              history[pos]?.set(ord, ref);
              if (lastRound.get(ord) !== pos + 1) continue;
            }
            if (!firstRow(rec.custom_id)) {
              duplicates++;
              continue;
            }
            if (rejectedIds.size > 0) {
              const rejectedOrd = rejectedIds.get(rec.custom_id);
              if (rejectedOrd >= 0) rejectedIsRow.set(rejectedOrd, 1);
            }
            const batchIds: (string | null)[] = [];
            if (ord >= 0) {
              for (const col of history) {
                const r = col.get(ord);
                const id = r > 0 ? (refs[r - 1] as ChunkRef).batchId : null;
                // A round that never submitted the row (cancel, budget, deadline) made no attempt.
                if (id) batchIds.push(id);
              }
            } else if (chunk.batchId) batchIds.push(chunk.batchId);
            counts[rec.status]++;
            const result = {
              custom_id: rec.custom_id,
              status: rec.status,
              attempts: batchIds.length,
              batch_ids: batchIds,
              round: round.round,
              error: rec.error,
              usage: rec.usage,
            };
            // Byte for byte what JSON.stringify({ ...result, response }) gives.
            const resultLine =
              responseJson === undefined
                ? JSON.stringify(result)
                : `${JSON.stringify(result).slice(0, -1)},"response":${responseJson}}`;
            let room = results.appendLine(resultLine);
            if (rec.status !== 'succeeded') {
              room =
                failures.appendLine(
                  JSON.stringify({
                    custom_id: rec.custom_id,
                    status: rec.status,
                    attempts: result.attempts,
                    batch_ids: batchIds,
                    error: rec.error,
                  }),
                ) && room;
            }
            if (!room) {
              await results.flush();
              await failures.flush();
            }
          }
        }
      }
    }
    return { results, failures, counts, usage, duplicates, rejectedIsRow };
  } catch (err) {
    await results.abort();
    await failures.abort();
    throw err;
  }
}

/**
 * One `rejected` row per rejected input line that names a custom_id no row has yet. A repeated
 * custom_id's first line is the real request, so a later duplicate stays only in rejected.jsonl.
 */
async function appendRejectedRows(
  storage: BlobStorage,
  input: FinalizeJobInput,
  round: number,
  plan: MergePlan,
  merged: Merged,
): Promise<RejectedSummary> {
  const { results, failures, rejectedIsRow } = merged;
  const summary: RejectedSummary = {
    count: input.rejected?.count ?? 0,
    ...(input.rejected?.uri ? { uri: input.rejected.uri } : {}),
    inResults: 0,
    withoutId: 0,
    repeatedId: 0,
  };
  if (!input.rejected?.uri) return summary;
  for await (const batch of readRejectedLines(storage, input.rejected.uri)) {
    for (const r of batch) {
      if (r.customId === undefined) {
        summary.withoutId++;
        continue;
      }
      const ord = plan.rejectedIds.get(r.customId);
      if (rejectedIsRow.get(ord) === 1) {
        summary.repeatedId++;
        continue;
      }
      rejectedIsRow.set(ord, 1);
      summary.inResults++;
      const error = {
        code: r.reasons[0]?.reason ?? 'rejected',
        message: `input line ${r.line} was not submitted: ${r.reasons.map((i) => i.message).join('; ')}`,
        line: r.line,
        reasons: r.reasons,
      };
      const head = { custom_id: r.customId, status: 'rejected', attempts: 0, batch_ids: [] };
      // The same keys, in the same order, as a reconciled row's result and failure lines.
      const room = results.appendLine(JSON.stringify({ ...head, round, error, usage: null, response: null }));
      if (!failures.appendLine(JSON.stringify({ ...head, error })) || !room) {
        await results.flush();
        await failures.flush();
      }
    }
  }
  return summary;
}

function oneChunk(text: string): AsyncIterable<string> {
  return (async function* () {
    await Promise.resolve();
    yield text;
  })();
}
