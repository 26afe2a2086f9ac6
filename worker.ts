// A worker configured from the environment (see WORKER_ENV_VARS); shuts down on SIGINT/SIGTERM.
import { NativeConnection, Worker } from '@temporalio/worker';
import { OpenAIBatchPlugin } from './src/plugin.ts';
import { loadWorkerConfig } from './src/worker-config.ts';

async function run(): Promise<void> {
  const config = loadWorkerConfig();
  const connection = await NativeConnection.connect(config.connection);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      plugins: [new OpenAIBatchPlugin()],
    });
    console.log(`worker polling task queue "${config.taskQueue}" on ${config.connection.address ?? 'localhost:7233'}`);
    // Worker.run resolves after the SDK's default shutdown signals (SIGINT, SIGTERM) drain the worker.
    await worker.run();
  } finally {
    await connection.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
