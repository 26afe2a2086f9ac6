// The job workflow's state and the pure functions over it. Carried across continue-as-new.
import { ZERO_USAGE } from '../empty-chunk-result.ts';
import { roundTotals, type StoredResults } from './stored-results.ts';
import type {
  ChunkProgress,
  ChunkRef,
  ChunkResult,
  JobProgress,
  JobPhase,
  RoundPlan,
  RowStatus,
  TokenUsage,
} from '../../common/job-types.ts';

/** Everything the job needs to resume after continue-as-new: references and counts only. */
export interface JobState {
  readonly jobId: string;
  readonly startedAtMs: number;
  /** `workflowInfo().firstExecutionRunId` of the job's first run. */
  readonly runId?: string | undefined;
  readonly model: string;
  readonly firstRoundRequests: number;
  readonly rejected: { count: number; uri?: string | undefined };
  phase: JobPhase;
  round: number;
  plan: RoundPlan;
  /** Index in the round's chunk list of the next chunk to launch. */
  nextChunk: number;
  /** Launched and not yet reported done, by chunk workflow id. */
  active: Record<string, ChunkProgress>;
  /** Every chunk result; with `stored`, only those not in storage yet (at most about 100). */
  results: ChunkResult[];
  /**
   * Present when the job keeps its chunk results and chunk lists in storage (patch
   * results-in-storage; decided at planning): the totals, and the parts' references.
   */
  stored?: StoredResults;
  /** With `stored`: the loaded page of the round's chunk list (`plan.chunksUri`); not carried across continue-as-new. */
  planPage?: { readonly offset: number; readonly chunks: readonly ChunkRef[] } | undefined;
  /** With `stored`: the estimated cost of each launched chunk, by workflow id (a lost chunk's result needs it). */
  chunkCosts?: Record<string, number>;
  committedCostUsd: number;
  skippedForBudget: number;
  deadlineHit: boolean;
  /** When the current round started, epoch ms (absent in states saved before it was added). */
  roundStartedAtMs?: number;
  /**
   * Results (by {@link resultKey}) whose retryable rows went into a later round. Rounds may overlap
   * since the `retryFailedRows` update, so "the current round's results" no longer says which rows
   * are still to retry. Absent in states saved before it was added: see {@link retriedKeys}.
   */
  retried?: string[];
  /** The input file of each launched chunk, by workflow id (absent in states saved before it was added). */
  chunkUris?: Record<string, string>;
  /**
   * When the job last learned of rows done (a chunk's progress or result), epoch ms: the ETA's rate
   * is taken up to then, not up to now. Absent in states saved before it was added.
   */
  observedAtMs?: number;
  /** Set when a chunk failed in a way every chunk would (a refused API key): nothing more is submitted. */
  fatal?: { readonly type: string; readonly message: string };
  /**
   * Chunks whose rows no records file holds (their collect failed, so results.jsonl cannot list
   * them), and the first one's reason. Absent while there are none, and in states saved before it
   * was added.
   */
  unrecorded?: { chunks: number; readonly first: string };
}

/** No tokens. */

export function resultKey(round: number, index: number): string {
  return `r${round}/c${index}`;
}

/**
 * The keys of the results already retried. A state saved before rounds could overlap has no list:
 * there, every result of an earlier round was retried when its round ended.
 */
export function retriedKeys(state: JobState): string[] {
  return state.retried ?? state.results.filter((r) => r.round < state.round).map((r) => resultKey(r.round, r.index));
}

/** Finished chunks with retryable rows that no round has taken yet, in the order they finished. */
export function pendingRetries(state: JobState): ChunkResult[] {
  const retried = new Set(retriedKeys(state));
  return state.results.filter((r) => r.retryCount > 0 && r.retryUri && !retried.has(resultKey(r.round, r.index)));
}

/** Whether any finished chunk has retryable rows that no round has taken (buffered or stored). */
export function hasPendingRetries(state: JobState): boolean {
  const stored = state.stored;
  return pendingRetries(state).length > 0 || (stored?.retryParts.length ?? 0) > 0 || Boolean(stored?.retryRange);
}

/** How many chunks the current round has (its list may be in storage). */
export function chunkCount(state: JobState): number {
  return state.plan.chunkCount ?? state.plan.chunks.length;
}

export function sumCounts(results: readonly ChunkResult[]): Partial<Record<RowStatus, number>> {
  const counts: Partial<Record<RowStatus, number>> = {};
  for (const r of results) {
    for (const [status, n] of Object.entries(r.counts) as [RowStatus, number][])
      counts[status] = (counts[status] ?? 0) + n;
  }
  return counts;
}

export function sumUsage(results: readonly ChunkResult[]): TokenUsage {
  const usage = { ...ZERO_USAGE };
  for (const r of results) {
    usage.input += r.usage.input;
    usage.cachedInput += r.usage.cachedInput;
    usage.output += r.usage.output;
    usage.reasoning += r.usage.reasoning;
  }
  return usage;
}

export function allBatchIds(state: JobState): string[] {
  const ids = state.stored ? [...state.stored.recentBatchIds] : state.results.flatMap((r) => r.batchIds);
  for (const p of Object.values(state.active)) if (p.batchId && !ids.includes(p.batchId)) ids.push(p.batchId);
  return ids;
}

/** The `progress` query's answer at `nowMs` (workflow time). */
export function jobProgress(state: JobState, nowMs: number, deadlineMs?: number): JobProgress {
  const round = roundSoFar(state);
  const active = Object.values(state.active);
  // Chunks of an earlier round may still run (after a `retryFailedRows` update): they are listed,
  // but the round's percentage counts only its own rows.
  const rowsDone =
    round.rows + active.filter((p) => p.round === state.round).reduce((n, p) => n + Math.min(p.done, p.total), 0);
  const total = state.plan.totalRequests;
  const finished = state.phase === 'completed' || state.phase === 'cancelled';
  return {
    jobId: state.jobId,
    phase: state.phase,
    round: state.round,
    totalRequests: state.firstRoundRequests,
    rowsDone,
    roundRequests: total,
    roundStartedAtMs: state.roundStartedAtMs ?? state.startedAtMs,
    // While an earlier round's chunk still runs, the job is not done even if this round is.
    percent: finished
      ? 100
      : total > 0
        ? Math.min(active.some((p) => p.round < state.round) ? 99 : 100, Math.floor((100 * rowsDone) / total))
        : 0,
    deadlineMs,
    observedAtMs: state.observedAtMs,
    etaMs:
      finished || state.phase !== 'running'
        ? undefined
        : etaMs(rowsDone, total, state.roundStartedAtMs ?? state.startedAtMs, state.observedAtMs ?? nowMs, nowMs),
    chunks: {
      planned: chunkCount(state),
      active: active.length,
      done: round.done,
      skipped: round.skipped,
    },
    counts: round.counts,
    usage: state.stored ? state.stored.usage : sumUsage(state.results),
    estimatedCostUsd: state.committedCostUsd,
    batchIds: allBatchIds(state),
    active,
  };
}

/** The current round's finished chunks: rows, chunks done and skipped, row counts. */
function roundSoFar(state: JobState): {
  rows: number;
  done: number;
  skipped: number;
  counts: Partial<Record<RowStatus, number>>;
} {
  if (state.stored) {
    const t = roundTotals(state.stored, state.round);
    return { rows: t.rows, done: t.chunks - t.skipped, skipped: t.skipped, counts: { ...t.counts } };
  }
  const roundResults = state.results.filter((r) => r.round === state.round);
  const chunkRows = new Map(state.plan.chunks.map((c) => [c.index, c.requests]));
  return {
    rows: roundResults.reduce((n, r) => n + (chunkRows.get(r.index) ?? 0), 0),
    done: roundResults.filter((r) => r.end !== 'not_submitted').length,
    skipped: roundResults.filter((r) => r.end === 'not_submitted').length,
    counts: sumCounts(roundResults),
  };
}

/** The share of a round's rows that must be seen done before its rate says anything. */
export const ETA_MIN_SHARE = 0.05;

/**
 * Extrapolates the round's end from the rate seen up to `observedAtMs` (when `rowsDone` was
 * learned; a count learned a minute ago says nothing of the last minute). Undefined until at least
 * {@link ETA_MIN_SHARE} of the rows are seen done, and once the predicted end has passed (as of
 * `nowMs`) with rows still to do: no ETA rather than a wrong one.
 */
export function etaMs(
  rowsDone: number,
  total: number,
  roundStartedAtMs: number,
  observedAtMs: number,
  nowMs = observedAtMs,
): number | undefined {
  const elapsed = observedAtMs - roundStartedAtMs;
  if (rowsDone <= 0 || elapsed <= 0 || rowsDone < total * ETA_MIN_SHARE) return undefined;
  if (rowsDone >= total) return undefined;
  const eta = Math.round(observedAtMs + ((total - rowsDone) * elapsed) / rowsDone);
  return eta >= nowMs ? eta : undefined;
}

/** "3 h 20 m", "12 m", "40 s": for Markdown, where the CLI's formatter is not available. */
export function roughDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} m`;
}

/** "2026-11-22 03:10 UTC". */
export function utcMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "2026-11-22 03:10:42 UTC". */
export function utcSecond(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The `progress` query's answer before planning has finished. */
export function planningProgress(jobId: string): JobProgress {
  return {
    jobId,
    phase: 'planning',
    round: 0,
    totalRequests: 0,
    rowsDone: 0,
    percent: 0,
    chunks: { planned: 0, active: 0, done: 0, skipped: 0 },
    counts: {},
    usage: ZERO_USAGE,
    estimatedCostUsd: 0,
    batchIds: [],
    active: [],
  };
}

/** A short Markdown summary for the UI's "current details", as of `nowMs`. */
export function progressMarkdown(p: JobProgress, nowMs: number): string {
  const counts =
    Object.entries(p.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none yet';
  return [
    `**OpenAI batch job** \`${p.jobId}\`: ${p.phase}, round ${p.round}, ${p.percent}%`,
    '',
    `- chunks: ${p.chunks.done} done, ${p.chunks.active} active, ${p.chunks.skipped} skipped of ${p.chunks.planned}`,
    `- rows this round: ${counts}`,
    p.chunks.done > 0
      ? `- tokens: ${p.usage.input} in (${p.usage.cachedInput} cached), ${p.usage.output} out`
      : '- tokens: counted when the first chunk finishes',
    `- cost at most $${p.estimatedCostUsd.toFixed(4)} (an upper bound: every submitted request at its max tokens)`,
    ...(p.observedAtMs !== undefined
      ? [`- rows counted as of ${utcSecond(p.observedAtMs)} (the latest chunk report)`]
      : []),
    ...(p.etaMs !== undefined
      ? [`- ETA: ${utcMinute(p.etaMs)} (in about ${roughDuration(p.etaMs - nowMs)}, at this round's rate so far)`]
      : []),
    ...(p.deadlineMs !== undefined ? [`- deadline: ${utcMinute(p.deadlineMs)}`] : []),
    ...p.active.map(
      (a) =>
        `- r${a.round}/c${a.index}: ${a.phase}${a.batchId ? ` \`${a.batchId}\`` : ''}` +
        `${a.batchStatus ? ` (${a.batchStatus} ${a.done}/${a.total})` : ''}`,
    ),
  ].join('\n');
}
