// A worker configured from the environment (see WORKER_ENV_VARS); shuts down on SIGINT/SIGTERM.
import { NativeConnection, Worker } from '@temporalio/worker';
import { crashOnceAt } from './activities/crash-point.ts';
import { OpenAIBatchPlugin } from './src/plugin.ts';
import { bundleWorkflowsApart } from './src/workflow-bundle.ts';
import { describeSearchAttributeProblems, searchAttributeProblems } from './src/setup/search-attribute-setup.ts';
import { loadWorkerConfig } from './src/worker-config.ts';
import { installWorkerRuntime } from './src/metrics/telemetry.ts';

async function run(): Promise<void> {
  const config = loadWorkerConfig();
  // Process-global, before the first connection: with OPENAI_BATCH_METRICS_ADDRESS, one Prometheus
  // scrape serves the SDK's worker metrics and the project's.
  installWorkerRuntime({ metricsAddress: config.metricsAddress });
  const connection = await NativeConnection.connect(config.connection);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      // Bundled in a child process: webpack's memory never becomes this worker's (src/workflow-bundle.ts).
      workflowBundle: await bundleWorkflowsApart(),
      // OPENAI_API_KEY is read inside the plugin, on this worker only.
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: config.storageRoot,
          openaiBaseUrl: config.openaiBaseUrl,
          crashHook: crashOnceAt(config.testCrashAt),
        }),
      ],
    });
    // Jobs set the project's search attributes: without them every job's first workflow task fails.
    // Say so at once, with the commands that fix it (a worker without operator rights skips this).
    const problems = await searchAttributeProblems(connection, config.namespace).catch(() => []);
    if (problems.length > 0) console.error(`warning: ${describeSearchAttributeProblems(problems, config.namespace)}`);
    console.log(`worker polling task queue "${config.taskQueue}" on ${config.connection.address ?? 'localhost:7233'}`);
    if (config.metricsAddress) console.log(`metrics at http://${config.metricsAddress}/metrics`);
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
