import type { Client } from '@temporalio/client';
import { awaitJobSummary, iterateResults, startBatchJob } from '../src/index.ts';

/** Classifies the reviews in `inputUri` as one batch job and counts the sentiments it got back. */
export async function classifyReviews(
  client: Client,
  options: { inputUri: string; taskQueue: string; storageRoot: string },
) {
  const handle = await startBatchJob(
    client,
    {
      name: 'review-sentiment',
      inputUri: options.inputUri,
      endpoint: '/v1/chat/completions',
      maxRounds: 3, // retryable failures (429, 5xx, expired) get two more tries
      maxCostUsd: 25, // chunks that would exceed the budget are not submitted
    },
    { taskQueue: options.taskQueue },
  );
  const summary = await awaitJobSummary(handle);
  console.log(`${summary.counts.succeeded ?? 0}/${summary.rows} succeeded for $${summary.costUsd.toFixed(2)}`);

  const sentiments: Record<string, number> = {};
  for await (const row of iterateResults(summary, options.storageRoot)) {
    if (row.status !== 'succeeded') continue; // failures.jsonl says why the others failed
    const response = row['response'] as { choices: { message: { content: string } }[] };
    const { sentiment } = JSON.parse(response.choices[0]!.message.content) as { sentiment: string };
    sentiments[sentiment] = (sentiments[sentiment] ?? 0) + 1;
  }
  return sentiments;
}
