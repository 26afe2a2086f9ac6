import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { OpenAIBatchPlugin } from '../../../plugin.ts';
import { bundleWorkflowsApart } from '../../../workflow-bundle.ts';
import { DEFAULT_TASK_QUEUE } from '../../../worker-config.ts';
import { EMULATOR_WAIT } from '../../../../common/job-options.ts';
import { healthCheckWorkflow } from '../../../../workflows/health-check.ts';
import type { Command } from '../command.ts';
import { startParts, type Parts } from '../embedded-parts.ts';
import { installQuietRuntime } from '../worker-runtime.ts';
import { parseFlags, parsePort } from '../parse-flags.ts';
import { storageRootFrom } from '../storage-root.ts';

const usage = `Usage: openai-batch dev [options]

Local development in one command, with the same parts as \`openai-batch run\`: a Temporal dev server
with its Web UI (unless TEMPORAL_ADDRESS is set), the local OpenAI emulator (unless OPENAI_API_KEY or
OPENAI_BASE_URL is set, so nothing is spent) and a worker with the plugin wired to both. It prints
their addresses and how to submit a job, and serves until Ctrl-C, which stops all of them.

Options:
  --port <n>            gRPC port of the dev server (default: a free port)
  --ui-port <n>         Web UI port (default: a free port)
  --emulator-port <n>   port of the emulator (default: a free port)
  --db <file>           SQLite file that keeps the dev server's state, and the emulator's next to it
                        (default: temporary; \`run\` keeps its own in .openai-batch/dev-server.sqlite)
  --storage-root <dir>  where job files go (default: $OPENAI_BATCH_STORAGE_ROOT or ./.openai-batch)
  --task-queue <q>      task queue of the worker (default: ${DEFAULT_TASK_QUEUE})
  --once                exit after the worker's health check instead of serving until Ctrl-C
  -h, --help            show this help
`;

/** The job flags that give EMULATOR_WAIT, for the printed submit command. */
function emulatorWaitFlags(): string {
  const seconds = (ms: number | undefined): string => String((ms ?? 0) / 1000);
  return [
    `--poll-min-seconds ${seconds(EMULATOR_WAIT.minPollMs)}`,
    `--poll-max-seconds ${seconds(EMULATOR_WAIT.maxPollMs)}`,
    `--validating-poll-seconds ${seconds(EMULATOR_WAIT.validatingPollMs)}`,
    `--progress-refresh-seconds ${seconds(EMULATOR_WAIT.progressRefreshMs)}`,
  ].join(' ');
}

function howToSubmit(parts: Parts, address: string, taskQueue: string, storageFlag: boolean, storageRoot: string) {
  const env = [
    `TEMPORAL_ADDRESS=${address}`,
    ...(taskQueue !== DEFAULT_TASK_QUEUE ? [`OPENAI_BATCH_TASK_QUEUE=${taskQueue}`] : []),
    ...(storageFlag ? [`OPENAI_BATCH_STORAGE_ROOT=${storageRoot}`] : []),
  ].join(' ');
  const waits = parts.embeddedEmulator ? ` ${emulatorWaitFlags()}` : '';
  return [
    'Submit a job from another terminal in this directory, then follow it:',
    `  ${env} npx openai-batch submit <input.jsonl> --job-id my-job${waits}`,
    `  ${env} npx openai-batch watch my-job`,
    `From code: connect a Client to ${address}, start jobs on task queue "${taskQueue}"` +
      (parts.embeddedEmulator
        ? " with wait: EMULATOR_WAIT (import { EMULATOR_WAIT } from 'temporal-openai-batch'); the defaults poll every 60 s."
        : '.'),
  ];
}

async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('dev', argv, {
    port: { type: 'string' },
    'ui-port': { type: 'string' },
    'emulator-port': { type: 'string' },
    db: { type: 'string' },
    'storage-root': { type: 'string' },
    'task-queue': { type: 'string' },
    once: { type: 'boolean' },
  });
  const port = parsePort('port', values.port);
  const uiPort = parsePort('ui-port', values['ui-port']);
  const emulatorPort = parsePort('emulator-port', values['emulator-port']);
  const taskQueue = values['task-queue'] ?? DEFAULT_TASK_QUEUE;
  const storageRoot = storageRootFrom(values['storage-root']);
  const storageChosen = Boolean(values['storage-root'] || process.env['OPENAI_BATCH_STORAGE_ROOT']);
  const workDir = storageRoot.startsWith('file://') ? fileURLToPath(storageRoot) : resolve('.openai-batch');
  // Without --db the dev server and emulator live in a temporary directory, removed on exit.
  const scratch = values.db === undefined ? await mkdtemp(join(tmpdir(), 'openai-batch-dev-')) : undefined;
  const db = values.db !== undefined ? resolve(values.db) : join(scratch!, 'dev-server.sqlite');
  installQuietRuntime('WARN', { ownSigint: true });
  const parts = await startParts(workDir, {
    port,
    uiPort,
    emulatorPort,
    dbFilename: db,
    emulatorStateDir: scratch ? join(scratch, 'emulator') : join(resolve(db, '..'), 'emulator'),
  });
  try {
    for (const line of parts.description) console.log(line);
    const address = parts.temporalAddress ?? 'localhost:7233';
    const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
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
      const client = new Client({ connection, namespace });
      await worker.runUntil(async () => {
        const health = await client.workflow.execute(healthCheckWorkflow, {
          taskQueue,
          workflowId: `openai-batch-health-${Date.now()}`,
          args: [{ requestedBy: 'openai-batch dev' }],
        });
        console.log(
          `Worker: task queue "${taskQueue}", storage ${storageRoot.startsWith('file://') ? workDir : storageRoot}, ` +
            `OpenAI at ${health.openaiBaseUrl}; ` +
            'health check passed',
        );
        if (values.once) return;
        for (const line of howToSubmit(parts, address, taskQueue, storageChosen, storageRoot)) console.log(line);
        console.log('Serving until Ctrl-C, which stops the worker, the emulator and the dev server.');
        await new Promise<void>((done) => {
          process.once('SIGINT', () => done());
          process.once('SIGTERM', () => done());
        });
        console.log('stopping...');
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await parts.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  return 0;
}

/** `openai-batch dev`: what `run` starts (dev server with UI, emulator, worker), serving until Ctrl-C. */
export const devCommand: Command = {
  name: 'dev',
  summary: 'local development: a dev server with UI, the emulator and a worker, until Ctrl-C',
  usage,
  run,
};
