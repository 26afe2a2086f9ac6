// A job's chunk results and chunk list kept in storage (patch results-in-storage), so that its state
// holds counts and references only, whatever the chunk count. Finished results wait in a small
// buffer (`state.results`) and go to storage 100 at a time as part `chunk-results/p<n>.jsonl`, each
// part written once; a round's chunk list is read 200 chunks at a time. The pure functions are
// tested in test/unit/stored-results.test.ts.
import { ApplicationFailure, CancellationScope, CancelledFailure, condition, patched } from '@temporalio/workflow';
import type { ChunkRef, ChunkResult, RowStatus, TokenUsage } from '../../common/job-types.ts';
import type { StoredChunkResult } from '../../activities/job-steps.ts';
import { FAILURE_TYPES } from '../../common/failures.ts';
import { ZERO_USAGE } from '../empty-chunk-result.ts';
import { RETRY_PARTS_AS_RANGE } from '../patches.ts';
import type { JobRun } from './job-run.ts';
import type { JobState } from './job-state.ts';

/** Stored parts `from` to `to` (exclusive), and how many of their chunks have retryable rows no round took. */
export interface RetryRange {
  readonly from: number;
  readonly to: number;
  readonly chunks: number;
}

/** Results per stored part. */
export const RESULTS_PER_PART = 100;
/** Chunks per page of a round's chunk list. */
export const PLAN_PAGE_CHUNKS = 200;
/** Batch ids the job keeps (and its summary returns): the newest. */
export const RECENT_BATCH_IDS = 100;

/** One round's totals, over every result recorded (stored or not). */
export interface RoundTotals {
  readonly round: number;
  chunks: number;
  /** Chunks recorded as not submitted. */
  skipped: number;
  rows: number;
  counts: Partial<Record<RowStatus, number>>;
}

/** What the job keeps of its results once they are in storage: counts and references only. */
export interface StoredResults {
  /** Parts named so far (p0 .. p<parts-1>); each is written once and a number is never reused. */
  parts: number;
  /**
   * Stored parts with retryable rows that no round has taken, and how many chunks of each have some:
   * one entry per part, so it grew with the chunk count. Only parts cut while a run replays code
   * from before patch retry-parts-as-range add here; once past that point it cuts into `retryRange`,
   * and a round takes the entries left here with the range.
   */
  retryParts: { readonly part: number; readonly chunks: number }[];
  /**
   * The parts cut since the last take (`from` to `to`, exclusive) when any has retryable rows that no
   * round has taken, and how many chunks have some: one range whatever the chunk count (patch
   * retry-parts-as-range). A part in it without such rows costs its round one small read.
   */
  retryRange?: RetryRange | undefined;
  rounds: RoundTotals[];
  usage: TokenUsage;
  batchCount: number;
  /** The newest {@link RECENT_BATCH_IDS} batch ids, oldest first. */
  recentBatchIds: string[];
  /** Results of chunks the deadline stopped from starting. */
  deadlineSkips: number;
  /** Results that ended cancelled or not submitted (a passed deadline explains them). */
  cutEnds: number;
}

export function newStoredResults(): StoredResults {
  return {
    parts: 0,
    retryParts: [],
    rounds: [],
    usage: { ...ZERO_USAGE },
    batchCount: 0,
    recentBatchIds: [],
    deadlineSkips: 0,
    cutEnds: 0,
  };
}

/** Adds a result (recorded once) to the totals. */
export function addToTotals(stored: StoredResults, r: ChunkResult): void {
  let totals = stored.rounds.find((t) => t.round === r.round);
  if (!totals) {
    totals = { round: r.round, chunks: 0, skipped: 0, rows: 0, counts: {} };
    stored.rounds.push(totals);
    stored.rounds.sort((a, b) => a.round - b.round);
  }
  totals.chunks += 1;
  if (r.end === 'not_submitted') totals.skipped += 1;
  for (const [status, n] of Object.entries(r.counts) as [RowStatus, number][]) {
    totals.counts[status] = (totals.counts[status] ?? 0) + n;
    totals.rows += n;
  }
  stored.usage = {
    input: stored.usage.input + r.usage.input,
    cachedInput: stored.usage.cachedInput + r.usage.cachedInput,
    output: stored.usage.output + r.usage.output,
    reasoning: stored.usage.reasoning + r.usage.reasoning,
  };
  stored.batchCount += r.batchIds.length;
  stored.recentBatchIds = [...stored.recentBatchIds, ...r.batchIds].slice(-RECENT_BATCH_IDS);
  if (r.reason === 'deadline') stored.deadlineSkips += 1;
  if (r.end === 'cancelled' || r.end === 'not_submitted') stored.cutEnds += 1;
}

/** A round's totals (zeros before its first result). */
export function roundTotals(stored: StoredResults, round: number): RoundTotals {
  return stored.rounds.find((t) => t.round === round) ?? { round, chunks: 0, skipped: 0, rows: 0, counts: {} };
}

/** `r<round>/c<index>`, as job-state's `resultKey` (not imported: job-state imports this file). */
function resultKey(round: number, index: number): string {
  return `r${round}/c${index}`;
}

function hasRetryableRows(r: ChunkResult): boolean {
  return r.retryCount > 0 && Boolean(r.retryUri);
}

/**
 * Takes the oldest results out of the buffer as the next part, in the state itself and at once (no
 * await): the part's number is taken, its retryable rows that no round has taken are counted in
 * `retryParts` (a round takes them from the part from now on), and each line says whether a round
 * took its rows already. What remains is only to write the part.
 */
export function cutPart(
  state: JobState,
  stored: StoredResults,
  asRange = false,
): { part: number; lines: StoredChunkResult[] } {
  const batch = state.results.splice(0, RESULTS_PER_PART);
  const part = stored.parts;
  stored.parts += 1;
  const taken = new Set(state.retried ?? []);
  const lines: StoredChunkResult[] = batch.map((r) =>
    taken.has(resultKey(r.round, r.index)) ? { ...r, retryTaken: true } : r,
  );
  const untaken = lines.filter((r) => !r.retryTaken && hasRetryableRows(r)).length;
  if (untaken > 0 && asRange) {
    const range = stored.retryRange;
    stored.retryRange = { from: range?.from ?? part, to: part + 1, chunks: (range?.chunks ?? 0) + untaken };
  } else if (untaken > 0) stored.retryParts.push({ part, chunks: untaken });
  // The keys of results no longer in the buffer are not needed: their part says it.
  const inPart = new Set(batch.map((r) => resultKey(r.round, r.index)));
  state.retried = (state.retried ?? []).filter((k) => !inPart.has(k));
  return { part, lines };
}

/** What a retry round takes: the buffered results' retry files and the stored parts with retryable rows. */
export interface RetryTake {
  readonly buffered: readonly ChunkResult[];
  readonly parts: readonly { readonly part: number; readonly chunks: number }[];
  readonly range?: RetryRange;
}

/**
 * Takes every pending retry for a round, in the state itself and at once (before the round is
 * planned): the buffered results' keys go to `retried` (a part cut meanwhile marks their lines
 * taken) and the stored parts leave `retryParts`. Results that finish while the round plans are
 * not in the take and stay pending. If planning then fails, the job ends (cancelled or failed),
 * so nothing is to be given back.
 */
export function takeRetries(state: JobState, stored: StoredResults, buffered: readonly ChunkResult[]): RetryTake {
  const take: RetryTake = {
    buffered: [...buffered],
    parts: [...stored.retryParts],
    ...(stored.retryRange ? { range: stored.retryRange } : {}),
  };
  state.retried = [...(state.retried ?? []), ...take.buffered.map((r) => resultKey(r.round, r.index))];
  stored.retryParts = [];
  stored.retryRange = undefined;
  return take;
}

/**
 * Stores the buffered results, 100 to a part: every part when `all` (before continue-as-new and
 * finalize), else the full parts only. The write runs non-cancellable (a cancel must not leave a
 * part half-decided) and is exclusive with a retry round's take.
 */
export async function storeResults(run: JobRun, all: boolean): Promise<void> {
  const { state, job } = run;
  const stored = state.stored;
  if (!stored) return;
  while (state.results.length >= (all ? 1 : RESULTS_PER_PART)) {
    await run.exclusive(async () => {
      if (state.results.length === 0) return;
      const { part, lines } = cutPart(state, stored, patched(RETRY_PARTS_AS_RANGE));
      await CancellationScope.nonCancellable(() =>
        job.act.storeChunkResults.executeWithOptions(
          { summary: `store ${lines.length} chunk results as part ${part}` },
          [{ jobId: job.jobId, part, results: lines }],
        ),
      );
    });
    throwIfCancelled();
  }
}

/**
 * A cancel that arrived during a non-cancellable store is taken now, in the cancel branch, instead
 * of being carried away by a continue-as-new or followed by a launch. Where the current scope is
 * non-cancellable (the cancel branch, finalize), nothing is thrown.
 */
export function throwIfCancelled(): void {
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Workflow cancelled');
}

/**
 * The round's next chunk, taken (`nextChunk` moves past it): from storage a page at a time, or
 * from an old job's plan, whole in its state.
 */
export async function takeNextChunk(run: JobRun): Promise<ChunkRef> {
  const s = run.state;
  const i = s.nextChunk;
  const chunk = s.stored ? await chunkAt(run, i) : (s.plan.chunks[i] as ChunkRef);
  s.nextChunk += 1;
  return chunk;
}

/** The `i`-th chunk of the current round, from the loaded page or a newly read one. */
export async function chunkAt(run: JobRun, i: number): Promise<ChunkRef> {
  const { state: s, job } = run;
  const page = s.planPage;
  if (page && i >= page.offset && i < page.offset + page.chunks.length) return page.chunks[i - page.offset] as ChunkRef;
  const uri = s.plan.chunksUri ?? '';
  const chunks = await job.act.readPlanChunks.executeWithOptions(
    { summary: `read chunks ${i}-${i + PLAN_PAGE_CHUNKS - 1} of round ${s.round}` },
    [{ chunksUri: uri, offset: i, limit: PLAN_PAGE_CHUNKS }],
  );
  const first = chunks[0];
  if (!first) {
    throw ApplicationFailure.nonRetryable(
      `round ${s.round}'s chunk list (${uri}) has no chunk ${i} of the ${s.plan.chunkCount ?? 0} its plan counts: ` +
        "the job's files were changed or lost under it; start the job again",
      FAILURE_TYPES.storage,
    );
  }
  s.planPage = { offset: i, chunks };
  return first;
}

/** Waits until `busy()` is false: one step at a time on the stored results. */
export async function untilIdle(busy: () => boolean): Promise<void> {
  if (busy()) await condition(() => !busy());
}
