import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer } from '../../devserver/start-dev-server.ts';
import { OpenAIBatchPlugin } from '../../../plugin.ts';
import { DEFAULT_TASK_QUEUE } from '../../../worker-config.ts';
import { healthCheckWorkflow } from '../../../../workflows/health-check.ts';
import type { Command } from '../command.ts';
import { installQuietRuntime } from '../worker-runtime.ts';
import { parseFlags, parsePort } from '../parse-flags.ts';

const usage = `Usage: openai-batch dev [options]

Starts a local Temporal dev server (with its Web UI) and a worker with the plugin, for local
development. The worker proves itself by running a health-check workflow.

Options:
  --port <n>         gRPC port of the dev server (default: a free port)
  --ui-port <n>      Web UI port (default: a free port)
  --db <file>        SQLite file that keeps the server's state (default: a temporary file)
  --task-queue <q>   task queue of the worker (default: ${DEFAULT_TASK_QUEUE})
  --once             exit after the health check instead of serving until Ctrl-C
  -h, --help         show this help
`;

async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('dev', argv, {
    port: { type: 'string' },
    'ui-port': { type: 'string' },
    db: { type: 'string' },
    'task-queue': { type: 'string' },
    once: { type: 'boolean' },
  });
  const port = parsePort('port', values.port);
  const uiPort = parsePort('ui-port', values['ui-port']);
  const taskQueue = values['task-queue'] ?? DEFAULT_TASK_QUEUE;
  installQuietRuntime();
  const server = await startDevServer({
    ...(port !== undefined ? { port } : {}),
    ...(uiPort !== undefined ? { uiPort } : {}),
    ...(values.db !== undefined ? { dbFilename: values.db } : {}),
    onProgress: (line) => console.log(line),
  });
  try {
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      plugins: [new OpenAIBatchPlugin()],
    });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace });
    await worker.runUntil(async () => {
      const health = await client.workflow.execute(healthCheckWorkflow, {
        taskQueue,
        workflowId: `openai-batch-health-${Date.now()}`,
        args: [{ requestedBy: 'openai-batch dev' }],
      });
      console.log(
        `worker healthy on task queue "${taskQueue}": OpenAI at ${health.openaiBaseUrl}, ` +
          `API key ${health.apiKeyConfigured ? 'configured' : 'not configured'}, storage ${health.storageRoot}`,
      );
      console.log(`Temporal address ${server.address}; Web UI ${server.uiUrl ?? 'off'}`);
      if (values.once) return;
      console.log('serving; press Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    });
    await connection.close();
    await nativeConnection.close();
  } finally {
    await server.stop();
  }
  return 0;
}

/** `openai-batch dev`: a dev server with UI plus a worker, for local development. */
export const devCommand: Command = {
  name: 'dev',
  summary: 'start a local Temporal dev server (with UI) and a worker',
  usage,
  run,
};
