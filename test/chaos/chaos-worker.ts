// The chaos test's worker process: worker.ts (configured from the same environment variables, the
// same plugin and crash hook) but with the workflow bundle the run built once
// (CHAOS_WORKFLOW_BUNDLE), so a restart after a SIGKILL takes a second instead of a fresh webpack
// build on two shared cores.
import { NativeConnection, Worker } from '@temporalio/worker';
import { crashOnceAt } from '../../activities/crash-point.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { loadWorkerConfig } from '../../src/worker-config.ts';

async function run(): Promise<void> {
  const config = loadWorkerConfig();
  const codePath = process.env['CHAOS_WORKFLOW_BUNDLE'];
  if (!codePath)
    throw new Error('CHAOS_WORKFLOW_BUNDLE is not set: the chaos runner sets it to its prebuilt workflow bundle');
  const connection = await NativeConnection.connect(config.connection);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: { codePath },
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: config.storageRoot,
          openaiBaseUrl: config.openaiBaseUrl,
          crashHook: crashOnceAt(config.testCrashAt),
        }),
      ],
    });
    console.log(`worker polling task queue "${config.taskQueue}"`);
    await worker.run();
  } finally {
    await connection.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
