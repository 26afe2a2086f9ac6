import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { CancelledFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startBatchJob } from '../../../client/job-client.ts';
import { OpenAIBatchPlugin } from '../../../plugin.ts';
import { bundleWorkflowsApart } from '../../../workflow-bundle.ts';
import { openStorage, readSmallText } from '../../../storage/index.ts';
import { DEFAULT_TASK_QUEUE } from '../../../worker-config.ts';
import type { JobSummary } from '../../../../common/job-types.ts';
import { EMULATOR_WAIT } from '../../../../common/job-options.ts';
import { getLiveJobProgress } from '../../../client/live-progress.ts';
import type { Command } from '../command.ts';
import { installQuietRuntime } from '../worker-runtime.ts';
import { inProcessTaskQueue, startParts } from '../embedded-parts.ts';
import { compact, usd } from '../format.ts';
import { jobFailureMessage, jobInputFromFlags, JOB_FLAGS, JOB_FLAGS_USAGE } from '../job-flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { ProgressDisplay } from '../progress-display.ts';
import { refuseRunningJobId } from '../running-job-id.ts';
import { settleInputCopies, snapshotInput, storageRootFrom } from '../storage-root.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch run <input.jsonl> [options]

Runs a batch job to the end and prints its report. With no TEMPORAL_ADDRESS it starts a Temporal dev
server (with Web UI); with no OPENAI_API_KEY and no OPENAI_BASE_URL it starts the local emulator, so
nothing is spent. A worker runs in this process. Ctrl-C asks whether to cancel the job (its OpenAI
batches are cancelled and the rows done so far kept) or to leave it running.

Exit code: 0 when every row reached a final state (succeeded, or failed for a reason that retrying
does not fix); 1 when rows were left expired, cancelled (a cancelled job's unsubmitted rows too) or
missing; 2 on a usage error.

Options:
  --storage-root <dir>   where job files go (default: $OPENAI_BATCH_STORAGE_ROOT or ./.openai-batch)
  --task-queue <q>       task queue of the in-process worker (default: ${DEFAULT_TASK_QUEUE}; with
                         the embedded emulator, ${DEFAULT_TASK_QUEUE}-<job id>, the run's own)
  -h, --help             show this help

${JOB_FLAGS_USAGE}`;

// Rows that will not change by waiting or retrying (rejected: refused input lines, onInvalid 'skip').
const FINAL_STATUSES = new Set(['succeeded', 'failed', 'invalid_output', 'rejected']);

async function askCancel(): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      '\nCancel the job (its OpenAI batches are cancelled, done rows kept)? [c]ancel / [l]eave running: ',
    );
    return answer.trim().toLowerCase().startsWith('c');
  } finally {
    rl.close();
  }
}

/** The summary of a cancelled job, from the report.json it wrote while cancelling. */
async function cancelledSummary(storageRoot: string, jobId: string): Promise<JobSummary> {
  const storage = openStorage(storageRoot);
  const reportUri = storage.jobUri(jobId, 'report.json');
  const report = JSON.parse(await readSmallText(storage, reportUri)) as Pick<
    JobSummary,
    'model' | 'endpoint' | 'rows' | 'counts' | 'usage' | 'costUsd' | 'syncCostUsd' | 'skippedForBudget'
  > & {
    rounds: { round: number; chunks: number; batchIds: (string | null)[] }[];
    rejected: { count: number };
    files: { results: string; failures: string };
  };
  return {
    ...report,
    jobId,
    status: 'cancelled',
    rounds: report.rounds.map((r) => ({ round: r.round, chunks: r.chunks, counts: {} })),
    batchIds: report.rounds.flatMap((r) => r.batchIds.filter((id): id is string => Boolean(id))),
    skippedForBudget: report.skippedForBudget ?? 0,
    rejected: report.rejected.count,
    resultsUri: report.files.results,
    failuresUri: report.files.failures,
    reportUri,
  };
}

function printSummary(summary: JobSummary): void {
  const path = (uri: string): string => (uri.startsWith('file://') ? fileURLToPath(uri) : uri);
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([s, n]) => `${s} ${compact(n ?? 0)}`)
    .join(', ');
  console.log(`\njob ${summary.jobId} ${summary.status}: ${compact(summary.rows)} rows (${counts || 'none'})`);
  console.log(roundsLine(summary));
  console.log(tokensLine(summary.usage));
  console.log(
    `cost: ${usd(summary.costUsd)} at batch prices; the same work synchronously: ${usd(summary.syncCostUsd)}`,
  );
  if (summary.rejected) console.log(`rejected input lines: ${summary.rejected}`);
  if (summary.skippedForBudget) console.log(`chunks not submitted (budget): ${summary.skippedForBudget}`);
  console.log(
    `results:  ${path(summary.resultsUri)}\nfailures: ${path(summary.failuresUri)}\n` +
      `report:   ${path(summary.reportUri)}`,
  );
}

function roundsLine(summary: JobSummary): string {
  const rounds = summary.rounds.map((r) => `r${r.round} ${r.chunks} chunk(s)`).join(', ');
  return `rounds: ${rounds}; batches: ${summary.batchIds.join(', ') || 'none'}`;
}

function tokensLine(usage: JobSummary['usage']): string {
  return (
    `tokens: input ${compact(usage.input)} (cached ${compact(usage.cachedInput)}), ` +
    `output ${compact(usage.output)}, reasoning ${compact(usage.reasoning)}`
  );
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('run', argv, {
    ...JOB_FLAGS,
    'storage-root': { type: 'string' },
    'task-queue': { type: 'string' },
  });
  const inputPath = positionals[0];
  if (!inputPath || positionals.length > 1)
    throw new UserError('run needs exactly one input file', 'openai-batch run <input.jsonl> [options]');
  const info = await stat(inputPath).catch(() => undefined);
  if (!info?.isFile())
    throw new UserError(`input file not found: ${inputPath}`, 'pass the path of a JSONL file of batch requests');

  const storageRoot = storageRootFrom(values['storage-root']);
  const workDir = storageRoot.startsWith('file://') ? fileURLToPath(storageRoot) : resolve('.openai-batch');
  const jobId = values['job-id'] ?? generatedJobId();
  const input = await jobInputFromFlags({ ...values, 'job-id': jobId }, 'pending', inputPath);

  installQuietRuntime('ERROR', { ownSigint: true });
  const parts = await startParts(workDir);
  const taskQueue = inProcessTaskQueue(values['task-queue'], parts, jobId, DEFAULT_TASK_QUEUE);
  // The emulator finishes in seconds; polling it at the real API's pace would only add minutes.
  const wait = parts.embeddedEmulator && !input.wait ? EMULATOR_WAIT : input.wait;
  for (const line of parts.description) console.log(line);
  try {
    const nativeConnection = await NativeConnection.connect({ address: parts.temporalAddress ?? 'localhost:7233' });
    const connection = await Connection.connect({ address: parts.temporalAddress ?? 'localhost:7233' });
    const client = new Client({ connection, namespace: process.env['TEMPORAL_NAMESPACE'] || 'default' });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: process.env['TEMPORAL_NAMESPACE'] || 'default',
        taskQueue,
        workflowBundle: await bundleWorkflowsApart(),
        plugins: [
          new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: parts.openaiBaseUrl, openaiApiKey: parts.openaiApiKey }),
        ],
      });
      await refuseRunningJobId(client, jobId);
      const inputUri = await snapshotInput(inputPath, storageRoot, jobId);
      const handle = await startBatchJob(
        client,
        { ...input, inputUri, ...(wait ? { wait } : {}) },
        {
          taskQueue,
          workflowId: jobId,
          ...(inputPath ? { inputName: inputPath } : {}),
        },
      ).catch(async (err: unknown) => {
        await settleInputCopies(storageRoot, jobId, inputUri, err);
        throw err;
      });
      await settleInputCopies(storageRoot, jobId, inputUri);
      console.log(jobStartedLine(jobId, taskQueue, parts.temporalUiUrl));

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
            console.log('cancelling: the OpenAI batches are being cancelled and the done rows collected...');
            // The job may have ended meanwhile; its result then speaks for itself.
            await handle.cancel().catch(() => undefined);
          } else {
            leave = true;
          }
          interrupted = false;
        });
      };
      process.on('SIGINT', onSigint);
      const summary = await worker.runUntil(async () => {
        // The result is a long poll: on "leave", abort it rather than wait out its 20 s.
        const result = client
          .withAbortSignal(stopWaiting.signal, () => handle.result())
          .then(
            (s) => ({ summary: s, error: undefined }),
            (error: unknown) => ({ summary: undefined, error }),
          );
        for (;;) {
          const winner = await Promise.race([result, new Promise<'tick'>((r) => setTimeout(() => r('tick'), 1_000))]);
          if (winner !== 'tick') return winner;
          if (leave) {
            stopWaiting.abort();
            return { summary: undefined, error: undefined };
          }
          const progress = await getLiveJobProgress(client, jobId).catch(() => undefined);
          if (progress && !interrupted) display.update(progress, Date.now() - started);
        }
      });
      process.off('SIGINT', onSigint);
      if (leave) {
        console.log(
          `left job ${jobId} running.` +
            (parts.temporalUiUrl
              ? savedInDevServerNote(workDir)
              : ' A worker on its task queue finishes it; `openai-batch status ' + jobId + '` shows it.'),
        );
        return 1;
      }
      if (summary.error instanceof WorkflowFailedError && summary.error.cause instanceof CancelledFailure) {
        // A cancelled job has no return value; it wrote its report before it ended.
        const cancelled = await cancelledSummary(storageRoot, jobId).catch(() => undefined);
        if (cancelled) printSummary(cancelled);
        // Cancelled while planning: nothing was submitted and there is no report.
        else console.log(`\njob ${jobId} cancelled before anything was submitted; no results were written.`);
        return 1;
      }
      if (summary.error) {
        if (summary.error instanceof WorkflowFailedError)
          throw new UserError(`job ${jobId} failed: ${jobFailureMessage(summary.error, inputPath)}`);
        throw summary.error instanceof Error ? summary.error : new Error(JSON.stringify(summary.error));
      }
      const result = summary.summary!;
      printSummary(result);
      const unfinished = Object.entries(result.counts).filter(([s, n]) => !FINAL_STATUSES.has(s) && (n ?? 0) > 0);
      return unfinished.length === 0 && result.status === 'completed' ? 0 : 1;
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await parts.stop();
  }
}

/** `job-<UTC timestamp>-<4 random characters>`, for a run started without --job-id. */
function generatedJobId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `job-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

function jobStartedLine(jobId: string, taskQueue: string, temporalUiUrl: string | undefined): string {
  const watch = temporalUiUrl
    ? `; watch it at ${temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(jobId)}`
    : '';
  return `job ${jobId} started on task queue "${taskQueue}"${watch}`;
}

function savedInDevServerNote(workDir: string): string {
  return (
    ` It is saved in ${workDir}/dev-server.sqlite; ` +
    `\`openai-batch dev --db ${workDir}/dev-server.sqlite\` resumes it.`
  );
}

/** `openai-batch run`: the main job on the embedded defaults. */
export const runCommand: Command = {
  name: 'run',
  summary: 'run a batch job to the end (embedded Temporal and emulator by default)',
  usage,
  run,
};
