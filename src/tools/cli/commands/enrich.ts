import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { CancelledFailure, Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { EMULATOR_WAIT } from '../../../../common/job-options.ts';
import type { WaitOptions } from '../../../../common/job-types.ts';
import { enrichJobWorkflowId, enrichProgressQuery } from '../../../../workflows/enrich/enrich-table.ts';
import type { EnrichProgress, EnrichSummary, EnrichTableInput } from '../../../../workflows/enrich/enrich-types.ts';
import { getLiveJobProgress } from '../../../client/live-progress.ts';
import { connect, resolveConnection } from '../../../pipeline/connection.ts';
import { loadPipelineFile, PipelineFileError } from '../../../pipeline/pipeline-file.ts';
import { DEFAULT_RUNS_TABLE } from '../../../pipeline/runs-table.ts';
import { quoteName } from '../../../pipeline/sql-names.ts';
import { OpenAIBatchPlugin } from '../../../plugin.ts';
import { bundleWorkflowsApart } from '../../../workflow-bundle.ts';
import { DEFAULT_TASK_QUEUE } from '../../../worker-config.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { inProcessTaskQueue, startParts } from '../embedded-parts.ts';
import { compact, duration, usd } from '../format.ts';
import { jobFailureMessage } from '../job-flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { ProgressDisplay } from '../progress-display.ts';
import { storageRootFrom } from '../storage-root.ts';
import { UserError } from '../user-error.ts';
import { installQuietRuntime } from '../worker-runtime.ts';

/** The wait flags `enrich` and `schedule create --pipeline` take over the file's `job.wait` (seconds). */
export const PIPELINE_WAIT_FLAGS = {
  'poll-min-seconds': 'minPollMs',
  'poll-max-seconds': 'maxPollMs',
  'validating-poll-seconds': 'validatingPollMs',
  'progress-refresh-seconds': 'progressRefreshMs',
  'heartbeat-timeout-seconds': 'heartbeatTimeoutMs',
} as const satisfies Record<string, keyof WaitOptions>;

export const PIPELINE_WAIT_USAGE = `  --poll-min-seconds <s>         shortest delay between polls (default: job.wait, else 60)
  --poll-max-seconds <s>         longest delay between polls (default: job.wait, else 3600)
  --validating-poll-seconds <s>  first delay while a batch validates (default: job.wait, else 2)
  --progress-refresh-seconds <s> how often a chunk reports counts (default: job.wait, else 7200)
  --heartbeat-timeout-seconds <s>
                                 how soon a dead worker's activity is retried (default: job.wait,
                                 else 60)`;

const WAIT_FLAG_SPECS = Object.fromEntries(
  Object.keys(PIPELINE_WAIT_FLAGS).map((f) => [f, { type: 'string' as const }]),
) as Record<keyof typeof PIPELINE_WAIT_FLAGS, { type: 'string' }>;

const usage = `Usage: openai-batch enrich <pipeline.yaml|pipeline.json> [options]

Runs a table enrichment pipeline (enrichTable): the source query's rows become batch requests, run
as one job, and the results are written back to the table by key, with one row per run in the
runs table. The pipeline file has the shape of EnrichTableInput (README, "Nightly enrichment from
Postgres"); it holds no secrets: the database comes from OPENAI_BATCH_PG_URL (or the variable the
file's "connection" names, or PGHOST/PGUSER/PGPASSWORD/PGDATABASE) here and on the workers.

With no TEMPORAL_ADDRESS it starts a Temporal dev server (with Web UI); with no OPENAI_API_KEY and
no OPENAI_BASE_URL it starts the local emulator, so nothing is spent. A worker runs in this
process. Ctrl-C asks whether to cancel the run (its batches are cancelled, the finished rows still
written back) or to leave it running.

Exit code: 0 when the run completed and every request reached a final state (succeeded, or failed
for a reason that retrying does not fix); 1 when it was cancelled, hit its deadline, or left rows
expired, cancelled or missing; 2 on a usage error, a mistake in the pipeline file, or a run that
failed (bad rows, a failing query, a missing column, refused credentials: the reason is printed).

Options:
  --submit               only start the run on the Temporal server of TEMPORAL_ADDRESS and print
                         its workflow id (workers with the plugin and the database variable run it)
  --run-id <id>          the run's id: its workflow id and its row in the runs table
                         (default: <pipeline name>-<UTC time>)
  --storage-root <dir>   where job files go (default: $OPENAI_BATCH_STORAGE_ROOT or ./.openai-batch)
  --task-queue <q>       task queue (default: ${DEFAULT_TASK_QUEUE}; with the embedded emulator,
                         ${DEFAULT_TASK_QUEUE}-<run id>, the run's own; with --submit,
                         $OPENAI_BATCH_TASK_QUEUE or ${DEFAULT_TASK_QUEUE})
${PIPELINE_WAIT_USAGE}
  -h, --help             show this help
`;

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'invalid_output', 'rejected']);

/** Reads a pipeline file for the CLI: its mistakes become a usage error (exit 2), one line each. */
export async function pipelineFromFile(path: string, values: Record<string, unknown>): Promise<EnrichTableInput> {
  let input: EnrichTableInput;
  try {
    input = await loadPipelineFile(path);
  } catch (err) {
    if (err instanceof PipelineFileError) throw new UserError(err.message);
    throw err;
  }
  const wait: Record<string, number> = {};
  for (const [flag, field] of Object.entries(PIPELINE_WAIT_FLAGS)) {
    const value = values[flag];
    if (typeof value !== 'string') continue;
    const seconds = Number(value);
    if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0)
      throw new UserError(`--${flag} must be a number of seconds, got "${value}"`);
    wait[field] = Math.round(seconds * 1000);
  }
  if (Object.keys(wait).length === 0) return input;
  return { ...input, job: { ...input.job, wait: { ...input.job?.wait, ...wait } } };
}

function generatedRunId(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${name}-${stamp}`;
}

async function askCancel(): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      '\nCancel the run (its OpenAI batches are cancelled, finished rows still written)? [c]ancel / [l]eave running: ',
    );
    return answer.trim().toLowerCase().startsWith('c');
  } finally {
    rl.close();
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('enrich', argv, {
    submit: { type: 'boolean' },
    'run-id': { type: 'string' },
    'storage-root': { type: 'string' },
    'task-queue': { type: 'string' },
    ...WAIT_FLAG_SPECS,
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UserError('enrich needs exactly one pipeline file', 'openai-batch enrich <pipeline.yaml> [options]');
  const pipeline = await pipelineFromFile(file, values);
  const runId = values['run-id'] ?? generatedRunId(pipeline.name ?? 'enrich');
  if (values.submit) return await submit(pipeline, runId, values['task-queue']);

  const storageRoot = storageRootFrom(values['storage-root']);
  const workDir = storageRoot.startsWith('file://') ? fileURLToPath(storageRoot) : resolve('.openai-batch');
  installQuietRuntime('ERROR', { ownSigint: true });
  const parts = await startParts(workDir);
  const taskQueue = inProcessTaskQueue(values['task-queue'], parts, runId, DEFAULT_TASK_QUEUE);
  for (const line of parts.description) console.log(line);
  // The emulator finishes in seconds; polling it at the real API's pace would only add minutes.
  const input: EnrichTableInput =
    parts.embeddedEmulator && !pipeline.job?.wait
      ? { ...pipeline, job: { ...pipeline.job, wait: EMULATOR_WAIT } }
      : pipeline;
  try {
    const address = parts.temporalAddress ?? 'localhost:7233';
    const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace,
        taskQueue,
        workflowBundle: await bundleWorkflowsApart(),
        plugins: [
          new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: parts.openaiBaseUrl, openaiApiKey: parts.openaiApiKey }),
        ],
      });
      const handle = await client.workflow.start('enrichTable', { workflowId: runId, taskQueue, args: [input] });
      const watch = parts.temporalUiUrl
        ? `; watch it at ${parts.temporalUiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(runId)}`
        : '';
      console.log(`run ${runId} started on task queue "${taskQueue}"${watch}`);
      const outcome = await worker.runUntil(follow(client, handle, runId));
      if (outcome.kind === 'left') {
        console.log(`left run ${runId} running; a worker on task queue "${taskQueue}" finishes it.`);
        return 1;
      }
      if (outcome.kind === 'failed') {
        const err = outcome.error;
        if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
          await printRunRow(input, runId);
          return 1;
        }
        if (err instanceof WorkflowFailedError) throw new UserError(`run ${runId} failed: ${jobFailureMessage(err)}`);
        throw err instanceof Error ? err : new Error(String(err));
      }
      await printRunRow(input, runId, outcome.summary);
      const counts = outcome.summary.job?.counts ?? {};
      const unfinished = Object.entries(counts).some(([s, n]) => !FINAL_STATUSES.has(s) && (n ?? 0) > 0);
      return outcome.summary.status === 'completed' && !unfinished ? 0 : 1;
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await parts.stop();
  }
}

type Outcome = { kind: 'done'; summary: EnrichSummary } | { kind: 'failed'; error: unknown } | { kind: 'left' };

/** Shows the run's phase and its job's progress until the run ends (or the user leaves it). */
async function follow(client: Client, handle: WorkflowHandle, runId: string): Promise<Outcome> {
  const display = new ProgressDisplay();
  const started = Date.now();
  let interrupted = false;
  let leave = false;
  const stopWaiting = new AbortController();
  const onSigint = (): void => {
    if (interrupted) return;
    interrupted = true;
    display.release();
    void askCancel().then(async (cancel) => {
      if (cancel) {
        console.log('cancelling: the OpenAI batches are being cancelled and the finished rows written back...');
        await handle.cancel().catch(() => undefined);
      } else leave = true;
      interrupted = false;
    });
  };
  process.on('SIGINT', onSigint);
  try {
    const result = client
      .withAbortSignal(stopWaiting.signal, () => handle.result() as Promise<EnrichSummary>)
      .then(
        (summary): Outcome => ({ kind: 'done', summary }),
        (error: unknown): Outcome => ({ kind: 'failed', error }),
      );
    let phase: EnrichProgress['phase'] | undefined;
    for (;;) {
      const winner = await Promise.race([result, new Promise<'tick'>((r) => setTimeout(() => r('tick'), 1_000))]);
      if (winner !== 'tick') {
        display.release();
        return winner;
      }
      if (leave) {
        stopWaiting.abort();
        display.release();
        return { kind: 'left' };
      }
      const progress = await handle.query(enrichProgressQuery).catch(() => undefined);
      if (progress && progress.phase !== phase && !interrupted) {
        display.release();
        phase = progress.phase;
        console.log(phaseLine(progress));
      }
      if (progress?.phase === 'running' && !interrupted) {
        const job = await getLiveJobProgress(client, enrichJobWorkflowId(runId)).catch(() => undefined);
        if (job) display.update(job, Date.now() - started);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function phaseLine(p: EnrichProgress): string {
  switch (p.phase) {
    case 'exporting':
      return 'exporting: reading the source query into request lines';
    case 'running':
      return `running: ${compact(p.exported?.requests ?? 0)} requests (${compact(p.exported?.rejected.count ?? 0)} rows rejected) in job ${p.jobWorkflowId ?? ''}`;
    case 'importing':
      return 'importing: writing the results back';
    default:
      return p.phase;
  }
}

interface RunRow {
  status: string;
  rows_exported: number | null;
  rejected: number | null;
  requests: number | null;
  succeeded: number | null;
  not_succeeded: number | null;
  rows_updated: number | null;
  unmatched: number | null;
  input_tokens: string | null;
  output_tokens: string | null;
  cost_usd: string | null;
  sync_cost_usd: string | null;
  duration_ms: string | null;
  batch_ids: string[] | null;
  error: string | null;
}

/** Prints the run's row of the runs table: what a dashboard reads. */
async function printRunRow(input: EnrichTableInput, runId: string, summary?: EnrichSummary): Promise<void> {
  const runsTable = input.sink.runsTable ?? DEFAULT_RUNS_TABLE;
  let row: RunRow | undefined;
  try {
    const client = await connect(resolveConnection(input.connection), input.connection);
    try {
      row = (
        await client.query<RunRow>(`SELECT * FROM ${quoteName(runsTable, 'runs table', true)} WHERE run_id = $1`, [
          runId,
        ])
      ).rows[0];
    } finally {
      await client.end();
    }
  } catch {
    row = undefined;
  }
  const n = (v: number | string | null | undefined): string =>
    v === null || v === undefined ? '-' : compact(Number(v));
  if (!row) {
    console.log(`\nrun ${runId} ${summary?.status ?? 'cancelled'}; no row in ${runsTable} could be read`);
    return;
  }
  console.log(`\nrun ${runId} ${row.status} (${runsTable}, run_id = '${runId}'):`);
  console.log(
    `rows: ${n(row.rows_exported)} exported, ${n(row.rejected)} rejected, ${n(row.requests)} requests; ` +
      `${n(row.succeeded)} succeeded, ${n(row.not_succeeded)} did not`,
  );
  console.log(`table ${input.sink.table}: ${n(row.rows_updated)} rows updated, ${n(row.unmatched)} results unmatched`);
  console.log(`tokens: input ${n(row.input_tokens)}, output ${n(row.output_tokens)}`);
  console.log(
    `cost: ${row.cost_usd === null ? '-' : usd(Number(row.cost_usd))} at batch prices; ` +
      `the same work synchronously: ${row.sync_cost_usd === null ? '-' : usd(Number(row.sync_cost_usd))}`,
  );
  console.log(
    `batches: ${row.batch_ids?.join(', ') || 'none'}; took ${row.duration_ms === null ? '-' : duration(Number(row.duration_ms))}`,
  );
  if (row.error) console.log(`error: ${row.error}`);
}

async function submit(pipeline: EnrichTableInput, runId: string, taskQueueFlag: string | undefined): Promise<number> {
  const conn = await connectFromEnvironment();
  try {
    const taskQueue = taskQueueFlag ?? conn.taskQueue;
    await conn.client.workflow.start('enrichTable', { workflowId: runId, taskQueue, args: [pipeline] });
    console.log(runId);
    return 0;
  } finally {
    await conn.close();
  }
}

/** `openai-batch enrich`: a table enrichment pipeline from a JSON/YAML file. */
export const enrichCommand: Command = {
  name: 'enrich',
  summary: 'run a Postgres table enrichment pipeline from a YAML/JSON file',
  usage,
  run,
};
