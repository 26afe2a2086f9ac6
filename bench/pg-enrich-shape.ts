import type { EnrichSink, EnrichSource, EnrichTemplate } from '../workflows/enrich/enrich-types.ts';

/** The table, query, template and sink mapping of `pg-enrich.bench.ts` (the nightly-reviews shape). */
export const BENCH_TABLE = `CREATE TABLE reviews (
  id bigint PRIMARY KEY, body text NOT NULL, sentiment text, topic text, urgency integer,
  result jsonb, status text, model text, tokens integer, batch_id text, enriched_at timestamptz)`;

export const BENCH_SOURCE: EnrichSource = { query: 'SELECT id, body FROM reviews', keyColumn: 'id' };

export const BENCH_TEMPLATE: EnrichTemplate = {
  model: 'gpt-4o-mini',
  system: 'Classify the customer review: sentiment, topic, urgency from 1 to 5.',
  user: 'Review: {{body}}',
  params: { temperature: 0 },
  responseFormat: {
    name: 'review_labels',
    strict: true,
    schema: {
      type: 'object',
      properties: {
        sentiment: { type: 'string', enum: ['positive', 'neutral', 'negative'] },
        topic: { type: 'string' },
        urgency: { type: 'integer' },
      },
      required: ['sentiment', 'topic', 'urgency'],
      additionalProperties: false,
    },
  },
};

export const BENCH_SINK: EnrichSink = {
  table: 'reviews',
  keyColumn: 'id',
  fields: { sentiment: 'sentiment', topic: 'topic', urgency: 'urgency' },
  columns: {
    result: 'result',
    status: 'status',
    model: 'model',
    tokens: 'tokens',
    batchId: 'batch_id',
    enrichedAt: 'enriched_at',
  },
};

/** The upsert mode's separate results table (created empty for the `upsert` phase). */
export const BENCH_LABELS_TABLE = `CREATE TABLE review_labels (
  id bigint PRIMARY KEY, sentiment text, topic text, urgency integer,
  result jsonb, status text, model text, tokens integer, batch_id text, enriched_at timestamptz)`;

export const BENCH_UPSERT_SINK: EnrichSink = { ...BENCH_SINK, table: 'review_labels', mode: 'upsert' };

/** The columns of the import's staging table (src/pipeline/pg-sink.ts), for the COPY yardstick. */
export const STAGING_COLUMNS =
  'key text PRIMARY KEY, status text NOT NULL, result jsonb, error jsonb, model text, tokens bigint, batch_id text';
