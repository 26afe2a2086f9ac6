// A user's own project, outside the repository, with the packed package installed: it imports both
// entry points as published, builds its input with buildRequests, starts the emulator and a worker
// with the plugin, runs one job and prints what came back as one JSON line.
//   node job.ts <work dir>   (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { z } from 'zod';
import {
  awaitJobSummary,
  buildRequests,
  FAILURE_TYPES,
  iterateResults,
  OpenAIBatchPlugin,
  startBatchJob,
  startEmulator,
  type StartJobInput,
} from 'temporal-openai-batch';
import { JOB_NAME, type JobInput, type JobSummary } from 'temporal-openai-batch/workflows';

const Sentiment = z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']) });

async function main(dir: string): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env['TEMPORAL_ADDRESS'] ?? 'localhost:7233';
  const namespace = process.env['TEMPORAL_NAMESPACE'] ?? 'default';
  const taskQueue = process.env['TASK_QUEUE'] ?? 'consumer';
  const emulator = await startEmulator({
    port: 0,
    stateDir: join(dir, 'emulator'),
    config: { rowsPerSecond: 'instant', validatingSeconds: 0.2, finalizingSeconds: 0.2 },
  });
  const storageRoot = pathToFileURL(join(dir, 'storage')).href;
  await mkdir(join(dir, 'storage'), { recursive: true });

  const reviews = Array.from({ length: 12 }, (_, i) => ({
    id: `review-${i}`,
    text: `Review ${i}: works well, arrived on time.`,
  }));
  let lines = '';
  for await (const line of buildRequests(reviews, {
    model: 'gpt-4o-mini',
    user: 'Classify this review: {{text}}',
    schema: Sentiment,
    params: { max_tokens: 20 },
  }))
    lines += line;
  await writeFile(join(dir, 'storage', 'reviews.jsonl'), lines);

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue,
      plugins: [new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: emulator.baseURL, openaiApiKey: 'sk-emulator' })],
    });
    const input: StartJobInput = {
      name: 'packed-consumer',
      inputUri: 'reviews.jsonl', // relative: under the storage root
      endpoint: '/v1/chat/completions',
      wait: { minPollMs: 200, maxPollMs: 1_000, validatingPollMs: 100, progressRefreshMs: 5_000 },
    };
    const summary: JobSummary = await worker.runUntil(
      async () => await awaitJobSummary(await startBatchJob(client, input, { taskQueue })),
    );
    const sentiments: string[] = [];
    for await (const row of iterateResults(summary, storageRoot)) {
      const response = row['response'] as { choices: { message: { content: string } }[] };
      sentiments.push(Sentiment.parse(JSON.parse(response.choices[0]!.message.content)).sentiment);
    }
    const schedulable: JobInput = { inputUri: input.inputUri, endpoint: input.endpoint };
    console.log(
      JSON.stringify({
        rows: summary.rows,
        counts: summary.counts,
        sentiments,
        jobName: JOB_NAME.name,
        auth: FAILURE_TYPES.auth,
        schedulable,
      }),
    );
  } finally {
    await connection.close();
    await nativeConnection.close();
    await emulator.stop();
  }
}

/** Never called: mistakes the published types refuse (`tsc` fails if one of them compiles). */
export function mistakes(client: Client): void {
  // @ts-expect-error a misspelt endpoint
  void startBatchJob(client, { inputUri: 'reviews.jsonl', endpoint: '/v1/chat/completion' }, { taskQueue: 'q' });
  void startBatchJob(
    client,
    // @ts-expect-error a misspelt option
    { inputUri: 'reviews.jsonl', endpoint: '/v1/chat/completions', maxRound: 3 },
    { taskQueue: 'q' },
  );
  // @ts-expect-error the input is required
  void startBatchJob(client, { endpoint: '/v1/embeddings' }, { taskQueue: 'q' });
}

await main(process.argv[2] ?? process.cwd());
