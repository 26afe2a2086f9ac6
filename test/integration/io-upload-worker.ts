// A worker process for io-upload-crash.test.ts: the plugin's workflows and activities with a small
// upload part size, configured from the environment (the test kills it from outside).
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBatchActivities } from '../../activities/create-batch-activities.ts';
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
  }),
});
console.log('worker polling');
await worker.run();
await connection.close();
