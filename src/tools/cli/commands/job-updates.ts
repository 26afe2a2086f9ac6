import { type WorkflowHandle, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { extendJobDeadline, getJobProgress, retryFailedRowsNow } from '../../../client/job-client.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const retryUsage = `Usage: openai-batch retry <job-id>

Resubmits now, as a new round, the retryable rows (rate limits, server errors, timeouts, expired,
missing) of the chunks that have already finished, instead of waiting for the round's slowest batch.
The same as \`temporal workflow update execute --name retryFailedRows --workflow-id <job-id>\`.
The job refuses (and nothing is recorded) when no finished chunk has retryable rows, the deadline
passed, or maxRounds is used up; the reason is printed.
`;

const extendUsage = `Usage: openai-batch extend-deadline <job-id> (--to <iso-date> | --by <duration>)

Moves the job's deadline later; its running chunks are told and cancel nothing before it.
The same as \`temporal workflow update execute --name extendDeadline --workflow-id <job-id>
--input '{"deadline":"2026-11-23T06:00:00Z"}'\`.

Options:
  --to <iso-date>    the new deadline, e.g. 2026-11-23T06:00:00Z
  --by <duration>    add this to the current deadline: 90m, 2h, 1d
`;

/** Runs one update on a job and turns the job's refusal into a one-line user error. */
async function onJob<T>(jobId: string, what: string, send: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
  const conn = await connectFromEnvironment();
  try {
    const handle = conn.client.workflow.getHandle(jobId);
    // An update (or the query for the deadline) on an ended job fails in the server's words; say why.
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING')
      throw new UserError(
        `job ${jobId} has ended (${status.name.toLowerCase().replace(/_/g, ' ')}); ${what} applies to running jobs only`,
        '`openai-batch status ' + jobId + '` shows how it ended; start a new job for the rows you still need',
      );
    return await send(handle);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UserError(`no job with id "${jobId}"`, 'see `openai-batch list`');
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof Error ? err.cause.message : err.message;
      throw new UserError(`${what} refused by job ${jobId}: ${cause.replace(/^\w+ rejected: /, '')}`);
    }
    throw err;
  } finally {
    await conn.close();
  }
}

async function runRetry(argv: readonly string[]): Promise<number> {
  const { positionals } = parseFlags('retry', argv, {});
  const jobId = positionals[0];
  if (!jobId) throw new UserError('retry needs a job id', 'openai-batch retry <job-id>');
  const r = await onJob(jobId, 'retry', (handle) => retryFailedRowsNow(handle));
  console.log(retryStartedLine(jobId, r));
  return 0;
}

function retryStartedLine(
  jobId: string,
  r: { readonly round: number; readonly requests: number; readonly fromChunks: number; readonly chunks: number },
): string {
  return (
    `job ${jobId}: round ${r.round} started with ${r.requests} rows from ${r.fromChunks} finished chunk(s), ` +
    `in ${r.chunks} batch(es)`
  );
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90m", "2h", "1d", "1h30m" in milliseconds; undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNIT_MS[p[2] as string] ?? 0), 0);
}

async function runExtend(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('extend-deadline', argv, {
    to: { type: 'string' },
    by: { type: 'string' },
  });
  const jobId = positionals[0];
  const hint = 'openai-batch extend-deadline <job-id> --to 2026-11-23T06:00:00Z   (or --by 2h)';
  if (!jobId) throw new UserError('extend-deadline needs a job id', hint);
  if ((values.to === undefined) === (values.by === undefined))
    throw new UserError('give either --to <iso-date> or --by <duration>', hint);
  let to: number | undefined;
  if (values.to !== undefined) {
    to = Date.parse(values.to);
    if (!Number.isFinite(to)) throw new UserError(`--to "${values.to}" is not an ISO 8601 date`, hint);
  }
  const byMs = values.by === undefined ? undefined : parseDurationMs(values.by);
  if (values.by !== undefined && !byMs)
    throw new UserError(`--by "${values.by}" is not a duration like 90m, 2h or 1d`, hint);
  const r = await onJob(jobId, 'extend-deadline', async (handle) => {
    let target = to;
    if (target === undefined) {
      const progress = await getJobProgress(handle);
      if (progress.deadlineMs === undefined) throw new UserError(`job ${jobId} has no deadline to extend`);
      target = progress.deadlineMs + (byMs ?? 0);
    }
    return await extendJobDeadline(handle, target);
  });
  console.log(deadlineMovedLine(jobId, r));
  return 0;
}

function deadlineMovedLine(
  jobId: string,
  r: { readonly previousDeadline: string; readonly deadline: string; readonly chunksNotified: number },
): string {
  return (
    `job ${jobId}: deadline moved from ${r.previousDeadline} to ${r.deadline}; ` +
    `${r.chunksNotified} running chunk(s) told`
  );
}

/** `openai-batch retry <id>`. */
export const retryCommand: Command = {
  name: 'retry',
  summary: "resubmit finished chunks' retryable rows now (retryFailedRows update)",
  usage: retryUsage,
  run: runRetry,
};

/** `openai-batch extend-deadline <id>`. */
export const extendDeadlineCommand: Command = {
  name: 'extend-deadline',
  summary: "move a running job's deadline later (extendDeadline update)",
  usage: extendUsage,
  run: runExtend,
};
