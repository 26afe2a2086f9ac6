import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { z } from 'zod';
import { strictJsonSchema } from '../src/index.ts';
import type { EnrichTableInput } from '../workflows/index.ts';

/** What every review gets: three labels, as strict structured output. */
const Labels = z.object({
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  topic: z.enum(['shipping', 'quality', 'price', 'support', 'other']),
  urgency: z.number().int().min(0).max(3),
});

/** The pipeline: reviews not yet labelled -> one request each -> labels written back by id. */
export function reviewPipeline(options: { job?: EnrichTableInput['job'] | undefined } = {}): EnrichTableInput {
  return {
    name: 'nightly-reviews',
    connection: 'OPENAI_BATCH_PG_URL', // an environment variable on the workers, never the URL itself
    source: {
      query: 'SELECT id, product, body FROM reviews WHERE sentiment IS NULL AND created_at < $1::timestamptz',
      params: ['now'], // rows in before the export started; later ones wait for tomorrow
      keyColumn: 'id',
      maxTextChars: 4_000,
    },
    template: {
      model: 'gpt-4o-mini',
      system: 'Classify the product review. Urgency: 0 none, 3 the customer needs help today.',
      user: 'Product: {{product}}\nReview: {{body}}',
      params: { temperature: 0 },
      responseFormat: strictJsonSchema(Labels, 'review_labels'),
    },
    sink: {
      table: 'reviews',
      keyColumn: 'id',
      fields: { sentiment: 'sentiment', topic: 'topic', urgency: 'urgency' },
      columns: { result: 'labels', status: 'label_status', batchId: 'batch_id', enrichedAt: 'labelled_at' },
      runsTable: 'review_label_runs',
    },
    ...(options.job ? { job: options.job } : {}),
  };
}

/** Every night at 02:00 UTC: label the reviews that came in since, before the 9 AM dashboard. */
export async function createNightlyEnrichmentSchedule(
  client: Client,
  options: { taskQueue: string; scheduleId?: string; job?: EnrichTableInput['job'] | undefined },
) {
  const scheduleId = options.scheduleId ?? 'nightly-review-labels';
  return await client.schedule.create({
    scheduleId,
    spec: { cronExpressions: ['0 2 * * *'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'enrichTable',
      workflowId: scheduleId, // each run gets "-<time>" appended: its run id in the runs table
      taskQueue: options.taskQueue,
      args: [reviewPipeline({ job: options.job })],
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP, // last night's run still going? skip tonight
      catchupWindow: '2h',
    },
  });
}
