import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JobProgress, JobSummary } from '../../../../common/job-types.ts';
import { INPUT_NAME_MEMO } from '../../../client/job-client.ts';
import { getLiveJobProgress } from '../../../client/live-progress.ts';
import { jobFailureMessage } from '../job-flags.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags } from '../parse-flags.ts';
import { ProgressDisplay, progressLines } from '../progress-display.ts';
import { UserError } from '../user-error.ts';

async function describeJob(
  client: Client,
  jobId: string,
): Promise<{
  status: string;
  startedAt: Date;
  closedAt?: Date;
  progress?: JobProgress;
  summary?: JobSummary;
  failure?: string;
}> {
  const handle = client.workflow.getHandle(jobId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UserError(`no job with id "${jobId}"`, 'run `openai-batch list` for the jobs');
    throw err;
  }
  const status = description.status.name;
  // Live counts need a running job; for an ended one this is the plain progress query.
  const progress = await getLiveJobProgress(client, jobId).catch(() => undefined);
  const summary = status === 'COMPLETED' ? ((await handle.result()) as JobSummary) : undefined;
  const failure = status === 'FAILED' ? await failureOf(handle, description.memo?.[INPUT_NAME_MEMO]) : undefined;
  return {
    status,
    startedAt: description.startTime,
    ...(description.closeTime ? { closedAt: description.closeTime } : {}),
    ...(progress ? { progress } : {}),
    ...(summary ? { summary } : {}),
    ...(failure ? { failure } : {}),
  };
}

/** Why a failed job failed, in the CLI's words, naming the input as the user passed it. */
async function failureOf(handle: ReturnType<Client['workflow']['getHandle']>, inputName: unknown): Promise<string> {
  try {
    await handle.result();
    return 'failed';
  } catch (err) {
    const cause = err instanceof WorkflowFailedError && err.cause ? err.cause : (err as Error);
    return jobFailureMessage(cause, typeof inputName === 'string' ? inputName : undefined);
  }
}

function statusCommand(name: 'status' | 'watch'): Command {
  const usage =
    name === 'status' ? STATUS_USAGE : `Usage: openai-batch watch <job-id>\n\nShows a job's progress until it ends.\n`;
  return {
    name,
    summary: name === 'status' ? "print a job's progress or summary" : "follow a job's progress until it ends",
    usage,
    async run(argv) {
      const { values, positionals } = parseFlags(name, argv, { json: { type: 'boolean' } });
      const jobId = positionals[0];
      if (!jobId) throw new UserError(`${name} needs a job id`, `openai-batch ${name} <job-id>`);
      const conn = await connectFromEnvironment();
      try {
        const display = new ProgressDisplay(process.stdout, 0);
        for (;;) {
          const job = await describeJob(conn.client, jobId);
          if (name === 'status' && values.json) {
            console.log(JSON.stringify(job, null, 2));
            return 0;
          }
          // An ended job's elapsed time stops at its end.
          const elapsedMs = (job.closedAt?.getTime() ?? Date.now()) - job.startedAt.getTime();
          if (job.progress) {
            if (name === 'watch') display.update(job.progress, elapsedMs);
            else console.log([`job ${jobId}: ${job.status}`, ...progressLines(job.progress, elapsedMs)].join('\n'));
          } else if (name === 'status') {
            console.log(`job ${jobId}: ${job.status}`);
          }
          if (name === 'status' || job.status !== 'RUNNING') {
            if (job.summary) console.log(`results: ${job.summary.resultsUri}\nreport:  ${job.summary.reportUri}`);
            if (job.failure) console.log(`failed: ${job.failure}`);
            if (name === 'watch') console.log(`job ${jobId}: ${job.status}`);
            return job.status === 'COMPLETED' || job.status === 'RUNNING' ? 0 : 1;
          }
          await new Promise((r) => setTimeout(r, 2_000));
        }
      } finally {
        await conn.close();
      }
    },
  };
}

const STATUS_USAGE =
  'Usage: openai-batch status <job-id> [--json]\n\n' +
  "Prints a job's progress (the `progress` query) or, once it ended, its summary.\n";

/** `openai-batch status <id>`. */
export const jobStatusCommand: Command = statusCommand('status');
/** `openai-batch watch <id>`. */
export const jobWatchCommand: Command = statusCommand('watch');
