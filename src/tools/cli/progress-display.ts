import { utcMinute } from '../../../workflows/job/job-state.ts';
import type { JobProgress } from '../../../common/job-types.ts';
import { compact, duration, usd } from './format.ts';

/** The lines that describe a job's progress; the same in a terminal and in a log. */
export function progressLines(p: JobProgress, elapsedMs: number, nowMs = Date.now()): string[] {
  // The job's ETA comes from the rate seen up to its last poll, and is absent until it means
  // something: no ETA rather than a guess from the display's own clock.
  const eta = p.etaMs !== undefined ? duration(Math.max(0, p.etaMs - nowMs)) : '-';
  const counts = Object.entries(p.counts)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([status, n]) => `${status} ${compact(n ?? 0)}`)
    .join(', ');
  const running = p.phase === 'running';
  const lines = [
    progressHeadline(p),
    // Tokens are counted from the batches' output: known once a chunk has finished.
    (p.chunks.done > 0 ? `tokens in ${compact(p.usage.input)} out ${compact(p.usage.output)}  ` : '') +
      `cost at most ${usd(p.estimatedCostUsd)}  ` +
      `elapsed ${duration(elapsedMs)}` +
      (running ? `  ETA ${eta}` : '') +
      (running && p.observedAtMs !== undefined ? `  (counts ${duration(nowMs - p.observedAtMs)} old)` : '') +
      (p.deadlineMs !== undefined ? `  deadline ${utcMinute(p.deadlineMs)}` : '') +
      (counts ? `  [${counts}]` : ''),
  ];
  for (const c of p.active.slice(0, 5)) {
    lines.push(activeChunkLine(c));
  }
  if (p.active.length > 5) lines.push(`  ... and ${p.active.length - 5} more active chunks`);
  return lines;
}

/** Phase, round, chunk counts and rows done. */
function progressHeadline(p: JobProgress): string {
  const skipped = p.chunks.skipped ? `, ${p.chunks.skipped} skipped` : '';
  return (
    `${p.phase.padEnd(10)} round ${p.round}  ` +
    `chunks ${p.chunks.done}/${p.chunks.planned} done, ${p.chunks.active} active${skipped}  ` +
    `rows ${compact(p.rowsDone)}/${compact(p.totalRequests)} (${p.percent}%)`
  );
}

function activeChunkLine(c: JobProgress['active'][number]): string {
  const batch = c.batchId ?? '(no batch yet)';
  return `  r${c.round}/c${c.index} ${batch} ${c.batchStatus ?? c.phase} ${compact(c.done)}/${compact(c.total)}`;
}

/**
 * Shows progress: redrawn in place on a terminal, or as plain lines (only when something changed,
 * at most every `plainEveryMs`) when stdout is a file or a pipe.
 */
export class ProgressDisplay {
  private drawn = 0;
  private lastPlain = '';
  private lastPlainAt = 0;
  private lastShown: JobProgress | undefined;
  private readonly out: NodeJS.WriteStream;
  private readonly plainEveryMs: number;

  constructor(out: NodeJS.WriteStream = process.stdout, plainEveryMs = 5_000) {
    this.out = out;
    this.plainEveryMs = plainEveryMs;
  }

  update(p: JobProgress, elapsedMs: number): void {
    const lines = progressLines(this.neverBackwards(p), elapsedMs);
    if (this.out.isTTY) {
      if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
      for (const line of lines) this.out.write(`\x1b[2K${line.slice(0, (this.out.columns || 120) - 1)}\n`);
      for (let i = lines.length; i < this.drawn; i++) this.out.write('\x1b[2K\n');
      this.drawn = Math.max(lines.length, this.drawn);
      return;
    }
    const key = lines[0] ?? '';
    const now = Date.now();
    if (key !== this.lastPlain && now - this.lastPlainAt >= this.plainEveryMs) {
      this.out.write(`${lines.slice(0, 2).join('  |  ')}\n`);
      this.lastPlain = key;
      this.lastPlainAt = now;
    }
  }

  /**
   * Rows done never go back within a round on screen: a chunk that moved from its last poll to
   * collecting shows the job's older count for a moment, until its result lands.
   */
  private neverBackwards(p: JobProgress): JobProgress {
    const last = this.lastShown;
    this.lastShown = p;
    if (!last || last.round !== p.round || last.jobId !== p.jobId || p.rowsDone >= last.rowsDone) return p;
    this.lastShown = { ...p, rowsDone: last.rowsDone, percent: Math.max(p.percent, last.percent) };
    return this.lastShown;
  }

  /** Forgets the drawn block, so that following output starts below it. */
  release(): void {
    this.drawn = 0;
  }
}
