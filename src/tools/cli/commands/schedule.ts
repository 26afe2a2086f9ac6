import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleClient } from '@temporalio/client';
import { ENDPOINT, JOB_NAME, JOB_STATUS } from '../../../../common/search-attributes.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { jobInputFromFlags, JOB_FLAGS, JOB_FLAGS_USAGE } from '../job-flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { pipelineFromFile, PIPELINE_WAIT_FLAGS, PIPELINE_WAIT_USAGE } from './enrich.ts';
import { UserError } from '../user-error.ts';

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

const usage = `Usage: openai-batch schedule <create|list|describe|pause|unpause|delete> [args]

Nightly (or any periodic) jobs as Temporal Schedules. Each run is a new job whose id is the
schedule id plus the run's time; it reads the same input URI, which your pipeline refreshes.

  schedule create <schedule-id> --input <uri|path> (--cron "<expr>" | --every <duration>) [options]
      --cron "0 2 * * *"        when to run (UTC cron); --every 24h for a fixed interval
      --overlap <policy>        skip (default), buffer_one, buffer_all, cancel_other, allow_all:
                                what to do when the previous night's job still runs
      --catchup-window <dur>    how late a missed run may still start, e.g. 1h (default: 1h)
      --paused                  create it paused
      --note <text>             a note shown with the schedule
      --task-queue <q>          (default: $OPENAI_BATCH_TASK_QUEUE or openai-batch)
      plus the job options below (except --job-id)
  schedule create <schedule-id> --pipeline <file.yaml|file.json> (--cron "<expr>" | --every <duration>)
      runs the table enrichment pipeline of the file (see \`openai-batch enrich --help\`) instead of
      a job; each run's id (its row in the runs table) is the schedule id plus the run's time. The
      job options come from the file's "job"; --overlap, --catchup-window, --paused, --note and
      --task-queue as above, and the wait flags:
${PIPELINE_WAIT_USAGE.replace(/^ {2}/gm, '      ')}
  schedule list
  schedule describe <schedule-id>
  schedule pause <schedule-id> [--note <text>]
  schedule unpause <schedule-id> [--note <text>]
  schedule delete <schedule-id>

${JOB_FLAGS_USAGE}`;

async function withHandle<T>(
  schedules: ScheduleClient,
  id: string | undefined,
  sub: string,
  fn: (h: ReturnType<ScheduleClient['getHandle']>) => Promise<T>,
): Promise<T> {
  if (!id) throw new UserError(`schedule ${sub} needs a schedule id`, `openai-batch schedule ${sub} <schedule-id>`);
  try {
    return await fn(schedules.getHandle(id));
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new UserError(`no schedule with id "${id}"`, 'run `openai-batch schedule list`');
    throw err;
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseFlags(`schedule ${sub ?? ''}`.trim(), rest, {
    ...JOB_FLAGS,
    input: { type: 'string' },
    pipeline: { type: 'string' },
    cron: { type: 'string' },
    every: { type: 'string' },
    overlap: { type: 'string' },
    'catchup-window': { type: 'string' },
    paused: { type: 'boolean' },
    note: { type: 'string' },
    'task-queue': { type: 'string' },
  });
  const id = positionals[0];
  if (!sub || !['create', 'list', 'describe', 'pause', 'unpause', 'delete'].includes(sub)) {
    throw new UserError(
      `unknown schedule subcommand "${sub ?? ''}"`,
      'use create, list, describe, pause, unpause or delete',
    );
  }
  if (sub === 'create') {
    if (!id)
      throw new UserError(
        'schedule create needs a schedule id',
        'openai-batch schedule create nightly-reviews --input ... --cron "0 2 * * *"',
      );
    if (!values.input === !values.pipeline)
      throw new UserError('schedule create needs --input <uri|path> (a job) or --pipeline <file> (a table enrichment)');
    if (!values.cron === !values.every) throw new UserError('give exactly one of --cron or --every');
    if (values['job-id']) throw new UserError('--job-id cannot be used with a schedule: each run gets its own id');
    const overlap = OVERLAP[values.overlap ?? 'skip'];
    if (overlap === undefined)
      throw new UserError(`--overlap must be one of ${Object.keys(OVERLAP).join(', ')}, got "${values.overlap}"`);
    if (values.pipeline) return await createPipelineSchedule(id, values.pipeline, values, overlap);
    if (!values.input) throw new UserError('schedule create needs --input <uri|path>');
    const inputUri = values.input.includes('://') ? values.input : pathToFileURL(resolve(values.input)).href;
    const input = await jobInputFromFlags(values, inputUri, values.input.includes('://') ? undefined : values.input);
    const conn = await connectFromEnvironment();
    try {
      await conn.client.schedule.create({
        scheduleId: id,
        spec: values.cron
          ? { cronExpressions: [values.cron] }
          : { intervals: [{ every: values.every as `${number}h` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'openAIBatchJob',
          workflowId: id,
          taskQueue: values['task-queue'] ?? conn.taskQueue,
          args: [input],
          typedSearchAttributes: [
            { key: JOB_STATUS, value: 'planning' },
            { key: ENDPOINT, value: input.endpoint },
            ...(input.name ? [{ key: JOB_NAME, value: input.name }] : []),
          ],
        },
        policies: { overlap, catchupWindow: (values['catchup-window'] ?? '1h') as `${number}h` },
        state: { paused: values.paused ?? false, ...(values.note ? { note: values.note } : {}) },
      });
      console.log(`schedule ${id} created`);
    } finally {
      await conn.close();
    }
    return 0;
  }
  const conn = await connectFromEnvironment();
  try {
    const schedules = conn.client.schedule;
    switch (sub) {
      case 'list':
        for await (const s of schedules.list()) {
          const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
          console.log(`${s.scheduleId.padEnd(32)}  ${s.state.paused ? 'paused ' : 'active '}  next ${next}`);
        }
        return 0;
      case 'describe':
        return await withHandle(schedules, id, sub, async (h) => {
          const d = await h.describe();
          console.log(
            JSON.stringify(
              {
                scheduleId: d.scheduleId,
                paused: d.state.paused,
                note: d.state.note,
                spec: d.spec,
                overlap: d.policies.overlap,
                catchupWindowMs: d.policies.catchupWindow,
                nextActionTimes: d.info.nextActionTimes,
                recentActions: d.info.recentActions.map((a) => ({
                  scheduledAt: a.scheduledAt,
                  workflowId: a.action.workflow.workflowId,
                })),
                runningJobs: d.info.runningActions.map((a) => a.workflow.workflowId),
              },
              null,
              2,
            ),
          );
          return 0;
        });
      case 'pause':
        return await withHandle(
          schedules,
          id,
          sub,
          async (h) => (await h.pause(values.note), console.log(`schedule ${id} paused`), 0),
        );
      case 'unpause':
        return await withHandle(
          schedules,
          id,
          sub,
          async (h) => (await h.unpause(values.note), console.log(`schedule ${id} unpaused`), 0),
        );
      default:
        return await withHandle(
          schedules,
          id,
          sub,
          async (h) => (await h.delete(), console.log(`schedule ${id} deleted`), 0),
        );
    }
  } finally {
    await conn.close();
  }
}

/** `schedule create <id> --pipeline <file>`: a Schedule that starts `enrichTable` with the file's pipeline. */
async function createPipelineSchedule(
  id: string,
  file: string,
  values: Record<string, unknown> & { cron?: string; every?: string; 'catchup-window'?: string },
  overlap: ScheduleOverlapPolicy,
): Promise<number> {
  const jobFlags = Object.keys(JOB_FLAGS).filter((f) => values[f] !== undefined && !(f in PIPELINE_WAIT_FLAGS));
  if (jobFlags.length > 0)
    throw new UserError(
      `--${jobFlags[0]} cannot be used with --pipeline: the job options of a pipeline go in its file, under "job"`,
    );
  const pipeline = await pipelineFromFile(file, values);
  const conn = await connectFromEnvironment();
  try {
    await conn.client.schedule.create({
      scheduleId: id,
      spec: values.cron ? { cronExpressions: [values.cron] } : { intervals: [{ every: values.every as `${number}h` }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'enrichTable',
        workflowId: id,
        taskQueue: typeof values['task-queue'] === 'string' ? values['task-queue'] : conn.taskQueue,
        args: [pipeline],
      },
      policies: { overlap, catchupWindow: (values['catchup-window'] ?? '1h') as `${number}h` },
      state: {
        paused: values['paused'] === true,
        ...(typeof values['note'] === 'string' ? { note: values['note'] } : {}),
      },
    });
    console.log(`schedule ${id} created: pipeline ${pipeline.name ?? 'enrich'} from ${file}`);
  } finally {
    await conn.close();
  }
  return 0;
}

/** `openai-batch schedule ...`: nightly jobs as Temporal Schedules. */
export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'create and manage Temporal Schedules of jobs (nightly runs)',
  usage,
  run,
};
