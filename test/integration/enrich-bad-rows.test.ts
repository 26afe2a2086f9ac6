// Bad rows and bad pipeline definitions of `enrichTable`, against a real Postgres: each is refused
// with one clear line, before anything reaches OpenAI; and rows that did not succeed keep their values.
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reviewPipeline } from '../../examples/nightly-enrichment.ts';
import { enrichTable } from '../../workflows/enrich/enrich-table.ts';
import type { EnrichSummary, EnrichTableInput } from '../../workflows/enrich/enrich-types.ts';
import { createReviewsDb, type ReviewsDb } from '../support/enrich-db.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

/** Every message along an error's cause chain, joined. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' <- ');
}

describe('enrichTable refuses bad rows and bad definitions before anything is uploaded', () => {
  let env: JobEnv;
  let server: TestPostgres;
  let db: ReviewsDb;
  let worker: Worker;
  let running: Promise<void>;
  let dbCount = 0;

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('enrich-bad');
    worker = await env.createWorker();
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await db?.close();
    await env?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await db?.close();
    db = await createReviewsDb(server, `bad_rows_${++dbCount}`);
    process.env['OPENAI_BATCH_PG_URL'] = db.url;
    env.emulator.setConfig({ rowErrors: { invalid_request_error: 0 } });
  });

  const base = reviewPipeline({ job: { wait: FAST_WAIT, maxRounds: 1 } });
  async function runPipeline(id: string, input: EnrichTableInput): Promise<EnrichSummary> {
    return await env.conn.client.workflow.execute(enrichTable, {
      workflowId: `${id}-${Date.now()}`,
      taskQueue: env.taskQueue,
      args: [input],
    });
  }
  async function failure(id: string, input: EnrichTableInput): Promise<string> {
    const err = await runPipeline(id, input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return messages(err);
  }

  /** Reviews 1..20, review 3 with a NULL body and review 7 longer than maxTextChars (4,000). */
  const badQuery =
    "SELECT id, product, body FROM reviews WHERE sentiment IS NULL AND created_at < $1::timestamptz UNION ALL SELECT 5, 'kettle', 'again' " +
    "UNION ALL SELECT NULL, 'kettle', 'no key'";
  async function insertBadReviews(): Promise<void> {
    await db.insertReviews(1, 21, (id) => (id === 3 ? null : id === 7 ? 'x'.repeat(5_000) : undefined));
  }

  it('a NULL text, an over-long text, a duplicate key and a NULL key: the run fails naming each key and reason, nothing uploaded', async () => {
    await insertBadReviews();
    const before = env.emulator.stats();
    const runId = `bad-rows-${Date.now()}`;
    const message = await failure('bad-rows', { ...base, runId, source: { ...base.source, query: badQuery } });

    expect(message).toContain('4 of 22 rows cannot be sent (nothing was uploaded)');
    // Row numbers count the query's rows in the order it returned them.
    expect(message).toMatch(/key 3 \(row \d+\): null_text, column "body" is NULL/);
    expect(message).toMatch(/key 7 \(row \d+\): text_too_long, column "body" has 5000 characters/);
    expect(message).toContain('key 5 (row 21): duplicate_key');
    expect(message).toContain('key NULL (row 22): null_key');
    expect(message).toContain("onInvalid: 'skip'");

    const after = env.emulator.stats();
    expect(after.filesUploaded).toBe(before.filesUploaded);
    expect(after.batchesCreated).toBe(before.batchesCreated);
    expect((await db.updatesPerReview()).size).toBe(0);

    const rejected = await readJsonlFile<{ key: string | null; reason: string }>(
      env.storageRoot,
      `${env.storageRoot.replace(/\/?$/, '/')}${runId}/export/rejected.jsonl`,
    );
    expect(rejected.map((r) => [r.reason, r.key]).sort()).toEqual([
      ['duplicate_key', '5'],
      ['null_key', null],
      ['null_text', '3'],
      ['text_too_long', '7'],
    ]);
    const runs = await db.query<{ run_id: string; status: string; error: string }>(
      'SELECT run_id, status, error FROM review_label_runs',
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ run_id: runId, status: 'failed' });
    expect(runs[0]?.error).toContain('null_text');
  });

  it("with onInvalid 'skip' the good rows are labelled and the rejected ones keep their values", async () => {
    await insertBadReviews();
    const summary = await runPipeline('skip-rows', {
      ...base,
      onInvalid: 'skip',
      source: { ...base.source, query: badQuery },
    });
    expect(summary.status).toBe('completed');
    expect(summary.exported).toMatchObject({ rows: 22, requests: 18, rejected: { count: 4 } });
    expect(summary.imported?.rowsUpdated).toBe(18);
    const unlabelled = await db.query<{ id: string }>('SELECT id FROM reviews WHERE sentiment IS NULL ORDER BY id');
    expect(unlabelled.map((r) => Number(r.id))).toEqual([3, 7]);
  });

  it("rows that did not succeed keep their old values; 'write-status' records only their status", async () => {
    await db.insertReviews(1, 41);
    await db.query("UPDATE reviews SET sentiment = 'old', topic = 'old'");
    env.emulator.setConfig({ rowErrors: { invalid_request_error: 0.4 } });
    const everything = { ...base.source, query: 'SELECT id, product, body FROM reviews', params: [] };
    const kept = await runPipeline('keep-failed', { ...base, source: everything });
    const failed = kept.job?.counts.failed ?? 0;
    expect(failed).toBeGreaterThan(0);
    expect(kept.job?.counts.succeeded).toBe(40 - failed);
    expect(kept.imported?.rowsUpdated).toBe(40 - failed);
    const old = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM reviews WHERE sentiment = 'old' AND topic = 'old' AND label_status IS NULL AND labels IS NULL",
    );
    expect(Number(old[0]?.n)).toBe(failed);

    const second = await runPipeline('write-status', {
      ...base,
      source: everything,
      sink: { ...base.sink, onFailed: 'write-status' },
    });
    const failedNow = second.job?.counts.failed ?? 0;
    expect(second.imported?.rowsUpdated).toBe(40);
    const statusOnly = await db.query<{ sentiment: string; label_status: string; labels: unknown }>(
      "SELECT sentiment, label_status, labels FROM reviews WHERE label_status = 'failed'",
    );
    expect(statusOnly).toHaveLength(failedNow);
    // A failed row's status is written; its labels stay what they were (the first run's, or 'old').
    const previous = new Set(['old', 'positive', 'neutral', 'negative']);
    expect(statusOnly.every((r) => previous.has(r.sentiment))).toBe(true);
  });

  it('a missing column, a failing query, refused credentials and a connection string as input: one clear line each', async () => {
    await db.insertReviews(1, 3);
    const before = env.emulator.stats();

    const missing = await failure('missing-column', {
      ...base,
      template: { ...base.template, user: '{{body}} {{stars}}' },
    });
    expect(missing).toContain('the source query returns no column "stars"');

    const query = await failure('failing-query', {
      ...base,
      source: { ...base.source, query: 'SELECT id, body FROM no_such_table' },
    });
    expect(query).toContain('running the source query: relation "no_such_table" does not exist (SQLSTATE 42P01)');

    const params = await failure('wrong-parameter-count', {
      ...base,
      source: { ...base.source, query: 'SELECT id, product, body FROM reviews' },
    });
    expect(params).toContain(
      'bind message supplies 1 parameters, but prepared statement "" requires 0 (SQLSTATE 08P01)',
    );

    const wrong = db.url.replace(server.password, 'not-the-password');
    process.env['ENRICH_WRONG_PASSWORD_URL'] = wrong;
    const refused = await failure('refused', { ...base, connection: 'ENRICH_WRONG_PASSWORD_URL' });
    expect(refused).toContain('connecting to Postgres (ENRICH_WRONG_PASSWORD_URL): password authentication failed');
    expect(refused).not.toContain('not-the-password');

    const asUrl = await failure('url-as-input', { ...base, connection: wrong });
    expect(asUrl).toContain('is not a connection name');
    expect(asUrl).not.toContain('not-the-password');

    const sinkColumn = await failure('missing-sink-column', {
      ...base,
      sink: { ...base.sink, fields: { ...base.sink.fields, stars: 'stars' } },
    });
    expect(sinkColumn).toContain('the sink table "reviews" has no column "stars"');

    const after = env.emulator.stats();
    expect(after.filesUploaded).toBe(before.filesUploaded);
    expect(after.batchesCreated).toBe(before.batchesCreated);
  });
});
