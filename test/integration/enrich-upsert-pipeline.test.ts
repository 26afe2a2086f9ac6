// `enrichTable` with the sink's upsert mode, end to end against a real Postgres and the emulator:
// the labels land in a separate results table (one row per review, the reviews table untouched),
// a second run overwrites rather than duplicates, and a results table without a unique key is
// refused before anything is uploaded.
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewPipeline } from '../../examples/nightly-enrichment.ts';
import { enrichTable } from '../../workflows/enrich/enrich-table.ts';
import type { EnrichSummary, EnrichTableInput } from '../../workflows/enrich/enrich-types.ts';
import { createReviewsDb, type ReviewsDb } from '../support/enrich-db.ts';
import { FAST_WAIT, startJobEnv, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const LABELS_TABLE = `CREATE TABLE review_labels (
  review_id bigint PRIMARY KEY, sentiment text, topic text, urgency smallint, labels jsonb,
  label_status text, batch_id text, labelled_at timestamptz)`;

describe('enrichTable upserts into a separate results table', () => {
  let env: JobEnv;
  let server: TestPostgres;
  let db: ReviewsDb;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('enrich-upsert');
    worker = await env.createWorker();
    running = worker.run();
    db = await createReviewsDb(server, 'upsert_pipeline');
    process.env['OPENAI_BATCH_PG_URL'] = db.url;
    env.emulator.setConfig({ rowErrors: { invalid_request_error: 0 } });
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await db?.close();
    await env?.close();
    await server?.stop();
  });

  const base = reviewPipeline({ job: { wait: FAST_WAIT, maxRounds: 1 } });
  const input: EnrichTableInput = {
    ...base,
    source: { ...base.source, query: 'SELECT id, product, body FROM reviews', params: [] },
    sink: { ...base.sink, table: 'review_labels', keyColumn: 'review_id', mode: 'upsert' },
  };
  const run = (id: string, i: EnrichTableInput): Promise<EnrichSummary> =>
    env.conn.client.workflow.execute(enrichTable, {
      workflowId: `${id}-${Date.now()}`,
      taskQueue: env.taskQueue,
      args: [i],
    });

  it('labels every review into review_labels, leaves reviews untouched, and a second run overwrites', async () => {
    await db.insertReviews(1, 31);
    await db.query(LABELS_TABLE);
    await db.query("INSERT INTO review_labels (review_id, sentiment) VALUES (5, 'stale')");

    const first = await run('upsert-1', input);
    expect(first.status).toBe('completed');
    expect(first.imported).toMatchObject({ rowsUpdated: 30, unmatched: 0 });
    const labelled = await db.query<{ n: string; ids: string }>(
      `SELECT count(*) AS n, count(DISTINCT review_id) AS ids FROM review_labels
        WHERE sentiment IN ('positive', 'neutral', 'negative') AND label_status = 'succeeded' AND labelled_at IS NOT NULL`,
    );
    expect(labelled[0]).toEqual({ n: '30', ids: '30' });
    // The source table is only read.
    expect((await db.updatesPerReview()).size).toBe(0);
    expect((await db.query('SELECT 1 FROM reviews WHERE sentiment IS NOT NULL')).length).toBe(0);

    await db.query('UPDATE review_labels SET topic = NULL');
    const second = await run('upsert-2', input);
    expect(second.imported).toMatchObject({ rowsUpdated: 30, unmatched: 0 });
    const rows = await db.query<{ n: string }>('SELECT count(*) AS n FROM review_labels WHERE topic IS NOT NULL');
    expect(rows[0]?.n).toBe('30');
    expect((await db.query('SELECT 1 FROM review_labels')).length).toBe(30);
  });

  it('refuses a results table without a unique key on the key column before anything is uploaded', async () => {
    await db.query('CREATE TABLE review_labels_nokey (LIKE review_labels)');
    const before = env.emulator.stats();
    const err = await run('upsert-nokey', { ...input, sink: { ...input.sink, table: 'review_labels_nokey' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) chain.push(e.message);
    expect(chain.join(' <- ')).toContain('needs a unique key on "review_id" of "review_labels_nokey"');
    expect(env.emulator.stats().filesUploaded).toBe(before.filesUploaded);
    expect((await db.query('SELECT 1 FROM review_labels_nokey')).length).toBe(0);
  });
});
