// The sink's upsert mode against a real Postgres: results go into a separate results table by
// `INSERT ... ON CONFLICT (key) DO UPDATE`, new keys inserted, existing ones overwritten, failed
// rows kept unless 'write-status', a repeated import writes the same rows (no duplicates), and a
// table without a unique key is refused by name before anything is written.
import { ApplicationFailure } from '@temporalio/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkSink, importIntoSink } from '../../src/pipeline/pg-sink.ts';
import { FileStorage } from '../../src/storage/index.ts';
import type { EnrichSink } from '../../workflows/enrich/enrich-types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const SINK: EnrichSink = {
  table: 'review_labels',
  keyColumn: 'review_id',
  mode: 'upsert',
  fields: { sentiment: 'sentiment', urgency: 'urgency' },
  columns: { result: 'labels', status: 'status', error: 'error', batchId: 'batch_id', enrichedAt: 'labelled_at' },
};

/** A results.jsonl line as the job writes it. */
function resultLine(id: number, ok: boolean, sentiment = 'positive'): string {
  const answer = JSON.stringify({ sentiment, urgency: id % 5 });
  return JSON.stringify({
    custom_id: String(id),
    status: ok ? 'succeeded' : 'failed',
    attempts: 1,
    batch_ids: [`batch_${id % 3}`],
    round: 1,
    error: ok ? null : { code: 'rate_limit_exceeded', message: 'Rate limit reached' },
    usage: ok ? { input: 10, cachedInput: 0, output: 5, reasoning: 0 } : null,
    response: ok ? { choices: [{ index: 0, message: { role: 'assistant', content: answer } }] } : null,
  });
}

describe('the upsert sink writes results into a separate results table', () => {
  let server: TestPostgres;
  let client: pg.Client;
  let dir: string;
  let storage: FileStorage;

  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'upsert-sink-'));
    storage = new FileStorage(dir);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await client.query('DROP TABLE IF EXISTS review_labels');
    await client.query(`CREATE TABLE review_labels (
      review_id bigint PRIMARY KEY, sentiment text, urgency smallint, labels jsonb, status text, error jsonb,
      batch_id text, labelled_at timestamptz, note text)`);
  });

  async function importLines(name: string, lines: string[], sink: EnrichSink = SINK) {
    await writeFile(join(dir, name), lines.join('\n') + '\n');
    await client.query('BEGIN');
    try {
      const out = await importIntoSink(client, storage, {
        sink,
        resultsUri: storage.jobUri(name),
        endpoint: '/v1/chat/completions',
        model: 'gpt-4o-mini',
      });
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  }
  const table = async () =>
    (
      await client.query<Record<string, unknown>>(
        'SELECT review_id, sentiment, urgency, labels, status, error, batch_id, note, labelled_at IS NOT NULL AS labelled FROM review_labels ORDER BY review_id',
      )
    ).rows;

  it('inserts new keys, overwrites existing ones and leaves the failed rows and other columns alone', async () => {
    await client.query(
      `INSERT INTO review_labels (review_id, sentiment, status, note) VALUES (2, 'negative', 'old', 'kept'), (3, 'neutral', 'old', 'kept too')`,
    );
    const out = await importLines('r1.jsonl', [resultLine(1, true), resultLine(2, true), resultLine(3, false)]);
    expect(out).toEqual({ rowsUpdated: 2, unmatched: 0 });
    expect(await table()).toEqual([
      {
        review_id: '1',
        sentiment: 'positive',
        urgency: 1,
        labels: { sentiment: 'positive', urgency: 1 },
        status: 'succeeded',
        error: null,
        batch_id: 'batch_1',
        note: null,
        labelled: true,
      },
      {
        review_id: '2',
        sentiment: 'positive',
        urgency: 2,
        labels: { sentiment: 'positive', urgency: 2 },
        status: 'succeeded',
        error: null,
        batch_id: 'batch_2',
        note: 'kept',
        labelled: true,
      },
      // Failed, 'keep': untouched.
      {
        review_id: '3',
        sentiment: 'neutral',
        urgency: null,
        labels: null,
        status: 'old',
        error: null,
        batch_id: null,
        note: 'kept too',
        labelled: false,
      },
    ]);
  });

  it("with 'write-status' a failed result writes only its status columns (inserting the row if needed)", async () => {
    await client.query(`INSERT INTO review_labels (review_id, sentiment, status) VALUES (3, 'neutral', 'old')`);
    const out = await importLines('r2.jsonl', [resultLine(3, false), resultLine(4, false)], {
      ...SINK,
      onFailed: 'write-status',
    });
    expect(out).toEqual({ rowsUpdated: 2, unmatched: 0 });
    const rows = await table();
    expect(rows.map((r) => [r['review_id'], r['sentiment'], r['status'], r['batch_id'], r['labelled']])).toEqual([
      ['3', 'neutral', 'failed', 'batch_0', true],
      ['4', null, 'failed', 'batch_1', true],
    ]);
    expect(rows[0]!['error']).toEqual({ code: 'rate_limit_exceeded', message: 'Rate limit reached' });
  });

  it('a repeated import of the same results leaves the same rows, none twice', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => resultLine(i + 1, i % 10 !== 0));
    await importLines('r3.jsonl', lines);
    const first = await table();
    expect(first).toHaveLength(450);
    await importLines('r3.jsonl', lines);
    expect(await table()).toEqual(first);
    // A later run with new answers overwrites the labels.
    await importLines('r4.jsonl', [resultLine(2, true, 'negative')]);
    const { rows } = await client.query<{ sentiment: string; n: string }>(
      'SELECT sentiment, count(*) OVER () AS n FROM review_labels WHERE review_id = 2',
    );
    expect(rows).toEqual([{ sentiment: 'negative', n: '1' }]);
  });

  it('refuses a results table without a unique key on the key column, naming the fix', async () => {
    await client.query('DROP TABLE review_labels');
    await client.query(
      'CREATE TABLE review_labels (review_id bigint, sentiment text, urgency smallint, labels jsonb, status text, error jsonb, batch_id text, labelled_at timestamptz, note text)',
    );
    const err = await checkSink(client, SINK).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toContain('needs a unique key on "review_id" of "review_labels"');
    await expect(importLines('r5.jsonl', [resultLine(1, true)])).rejects.toThrow(/needs a unique key/);
    expect(await table()).toEqual([]);
    await expect(checkSink(client, { ...SINK, mode: 'merge' as 'upsert' })).rejects.toThrow(/sink.mode is "merge"/);
  });
});
