// A worker process for io-upload-crash.test.ts: the plugin's workflows and activities with a small
// upload part size and the SIGKILL crash hook, configured from the environment.
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBatchActivities } from '../../activities/create-batch-activities.ts';
import { crashOnceAt } from '../../activities/crash-point.ts';
import { workflowsPath } from '../../src/plugin.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const worker = await Worker.create({
  connection,
  namespace: env('TEMPORAL_NAMESPACE'),
  taskQueue: env('OPENAI_BATCH_TASK_QUEUE'),
  workflowsPath,
  activities: createBatchActivities({
    storageRoot: env('OPENAI_BATCH_STORAGE_ROOT'),
    openaiBaseUrl: env('OPENAI_BASE_URL'),
    openaiApiKey: env('OPENAI_API_KEY'),
    apiKeyConfigured: true,
    uploadPartBytes: Number(env('UPLOAD_PART_BYTES')),
    crashHook: crashOnceAt(process.env['OPENAI_BATCH_TEST_CRASH_AT']),
  }),
});
console.log('worker polling');
await worker.run();
await connection.close();
