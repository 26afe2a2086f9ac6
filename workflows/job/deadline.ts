// The job's deadline, as one notion: parsed, validated, extended, passed, and whether it cut the
// job short. Everything the job decides about its deadline is here.
import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { deadlineMs } from '../../common/job-options.ts';
import type { ChunkResult, ExtendDeadlineResult, JobInput } from '../../common/job-types.ts';
import { chunkDeadlineSignal } from '../../common/messages.ts';
import { utcMinute, type JobState } from './job-state.ts';

/** How far ahead a deadline may be: beyond it, the number was surely not epoch milliseconds. */
const MAX_DEADLINE_AHEAD_MS = 366 * 86_400_000;

/** The job's deadline, epoch ms in workflow time. Mutable: the extendDeadline update moves it. */
export class Deadline {
  readonly #input: JobInput;
  #ms: number | undefined;

  constructor(input: JobInput) {
    this.#input = input;
    this.#ms = deadlineMs(input);
  }

  /** Epoch ms, or undefined when the job has none. */
  get ms(): number | undefined {
    return this.#ms;
  }

  /** The deadline has passed (workflow time). */
  passed(nowMs = Date.now()): boolean {
    return this.#ms !== undefined && nowMs >= this.#ms;
  }

  /**
   * The deadline cut the job short: it stopped a chunk from starting, or it passed while a chunk
   * was cancelled or never submitted. No more rounds start then.
   */
  cut(state: JobState): boolean {
    const stored = state.stored;
    if (stored) return state.deadlineHit || stored.deadlineSkips > 0 || (this.passed() && stored.cutEnds > 0);
    return state.deadlineHit || state.results.some((r) => r.reason === 'deadline' || (this.passed() && cutEnd(r)));
  }

  /** The job ends `deadline_exceeded`: the deadline stopped a chunk, or has passed by now. */
  exceeded(state: JobState): boolean {
    return state.deadlineHit || this.passed();
  }

  /** Notes that the deadline stopped a chunk from starting. */
  markCut(state: JobState): void {
    state.deadlineHit = true;
  }

  /** Why the deadline cannot move to `requested`, or undefined when it can. */
  whyNoExtension(requested: unknown, state: JobState | undefined): string | undefined {
    const next = parseDeadline(requested);
    if (next === undefined) {
      return unparsableDeadlineReason(requested);
    }
    if (next > Date.now() + MAX_DEADLINE_AHEAD_MS) return deadlineTooFarReason(next);
    if (this.#ms === undefined) return 'the job has no deadline to extend; it runs until its batches end';
    if (state && (state.phase === 'finalizing' || state.phase === 'completed' || state.phase === 'cancelled'))
      return `the job is ${state.phase}`;
    if (this.passed() || state?.deadlineHit)
      return `the deadline (${utcMinute(this.#ms)}) already passed; the job is cancelling its batches and finishing`;
    if (next <= this.#ms) return deadlineNotLaterReason(next, this.#ms);
    return undefined;
  }

  /**
   * Moves the deadline (validated by {@link whyNoExtension}) and tells each running chunk, which
   * enforces the deadline it was started with.
   */
  async extend(requested: unknown, activeChunkIds: readonly string[]): Promise<ExtendDeadlineResult> {
    const previous = this.#ms ?? 0;
    const next = parseDeadline(requested) ?? previous;
    this.#ms = next;
    for (const id of activeChunkIds) await tellChunk(id, next);
    log.info('deadline extended', {
      previous: new Date(previous).toISOString(),
      deadline: new Date(next).toISOString(),
      chunks: activeChunkIds.length,
    });
    return {
      previousDeadline: new Date(previous).toISOString(),
      deadline: new Date(next).toISOString(),
      chunksNotified: activeChunkIds.length,
    };
  }

  /** The input the next run (continue-as-new) starts from: it carries a moved deadline. */
  carriedInput(): JobInput {
    return this.#ms === undefined || this.#ms === deadlineMs(this.#input)
      ? this.#input
      : { ...this.#input, deadline: this.#ms };
  }
}

function unparsableDeadlineReason(requested: unknown): string {
  return (
    `deadline ${JSON.stringify(requested)} is not an ISO 8601 date with a time zone or epoch milliseconds ` +
    '(example: {"deadline": "2026-11-23T06:00:00Z"})'
  );
}

function deadlineTooFarReason(next: number): string {
  return (
    `the new deadline (${new Date(next).toISOString()}) is more than a year ahead; ` +
    'give epoch milliseconds, not micro- or nanoseconds'
  );
}

function deadlineNotLaterReason(next: number, current: number): string {
  return (
    `the new deadline (${new Date(next).toISOString()}) must be later than ` +
    `the current one (${new Date(current).toISOString()})`
  );
}

/** Signals a chunk workflow its new deadline; a chunk that has ended meanwhile needs none. */
export async function tellChunk(workflowId: string, deadline: number): Promise<void> {
  await getExternalWorkflowHandle(workflowId)
    .signal(chunkDeadlineSignal, { deadlineMs: deadline })
    .catch((err: unknown) => log.warn('could not tell a chunk its new deadline', { workflowId, error: String(err) }));
}

/** A chunk end that a passed deadline explains. */
function cutEnd(result: ChunkResult): boolean {
  return result.end === 'cancelled' || result.end === 'not_submitted';
}

/**
 * Epoch ms from epoch ms or an ISO 8601 date with a time zone (`Z` or `+02:00`); undefined when it
 * is neither. A date without a zone would be read in each worker's local time, which replay on
 * another worker could read differently.
 */
export function parseDeadline(value: unknown): number | undefined {
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(value.trim()))
    ms = Date.parse(value);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : undefined;
}
