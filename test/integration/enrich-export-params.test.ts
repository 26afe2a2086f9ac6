// A source query with parameters is read through COPY with its parameters inlined as literals
// (pg-source.ts, copySource): it must select exactly the rows the cursor selects with the same
// values bound, write the same bytes, and survive hostile values (quotes, backslashes, NULL, SQL
// in a value, `$1` in a value); a value the server refuses (a NUL) still fails as the cursor fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRows } from '../../src/pipeline/pg-source.ts';
import { FileStorage } from '../../src/storage/index.ts';
import type { EnrichTemplate, SqlParam } from '../../workflows/enrich/enrich-types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const template: EnrichTemplate = { model: 'gpt-4o-mini', user: '{{txt}} at {{at}}' };
const HOSTILE = ["O'Brien", "back\\slash \\' E'", "'); DROP TABLE t; --", '$1 and $$ and $q$', 'plain'];

describe('the export of a query with parameters', () => {
  let server: TestPostgres;
  let client: pg.Client;
  let dir: string;
  let storage: FileStorage;
  const statements: string[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    // Observe (not replace) what the export sends: which path ran, with what text.
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const a = args[0] as string | { text?: string };
      statements.push(typeof a === 'string' ? a : (a.text ?? '(a cursor)'));
      return query(...args);
    };
    dir = await mkdtemp(join(tmpdir(), 'export-params-'));
    storage = new FileStorage(dir);
    await client.query('CREATE TABLE t (id bigint, txt text, at timestamptz)');
    await client.query(
      `INSERT INTO t SELECT i, 'row ' || i, timestamptz '2024-03-01 10:00+00' + i * interval '1 hour'
         FROM generate_series(1, 2000) i`,
    );
    await client.query(
      `INSERT INTO t SELECT 5000 + n, v, timestamptz '2024-01-01 00:00+00' FROM unnest($1::text[]) WITH ORDINALITY u(v, n)`,
      [HOSTILE],
    );
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(runId: string, query: string, params: SqlParam[]) {
    statements.length = 0;
    const out = await exportRows(client, storage, {
      runId,
      source: { query, params, keyColumn: 'id' },
      template,
    });
    const requests = await readFile(join(dir, runId, 'export', 'requests.jsonl'), 'utf8');
    const copied = statements.some((s) => s.startsWith('COPY ('));
    return { out, requests, copied, statements: [...statements] };
  }
  const ids = (requests: string) =>
    requests
      .trim()
      .split('\n')
      .filter((l) => l)
      .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);

  // The same query, with a suffix the COPY wrapping refuses: the cursor runs it, values bound.
  const byCursor = (q: string) => `${q}; -- through the cursor`;

  it('selects through COPY the rows the cursor selects, with hostile values and NULL', async () => {
    const q = `SELECT id, txt, at FROM t
      WHERE txt IN ($1, $2, $3, $4) OR (id < $5 AND $6::text IS NULL) OR at > $7 ORDER BY id`;
    const params: SqlParam[] = [...HOSTILE.slice(0, 4), '3', null, '2024-04-23T00:00:00Z'];
    const copy = await run('p-copy', q, params);
    const cursor = await run('p-cursor', byCursor(q), params);
    expect(copy.copied).toBe(true);
    expect(cursor.copied).toBe(false);
    expect(copy.requests).toBe(cursor.requests);
    // ids 1, 2 (id < 3 and NULL IS NULL), the rows after 2024-04-23 (id > 1262), the 4 hostile rows.
    const after = Array.from({ length: 2000 - 1262 }, (_, i) => String(1263 + i));
    expect(ids(copy.requests)).toEqual(['1', '2', ...after, '5001', '5002', '5003', '5004']);
    // The values went in as bound parameters of settings, never as SQL text.
    const copyText = copy.statements.find((s) => s.startsWith('COPY ('))!;
    expect(copyText).toContain("CAST(current_setting('openai_batch.param_1') AS text)");
    for (const value of HOSTILE.slice(0, 4)) expect(copyText).not.toContain(value);
    expect(copyText).not.toContain('Brien');
    expect(copyText).toContain('CAST(NULL AS text)');
    expect(copyText).toContain('AS timestamp with time zone');
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM t');
    expect(rows[0]!.n).toBe('2005');
  });

  it('types each value as the server infers it (a number as bigint, the nightly example "now")', async () => {
    const q = 'SELECT id, txt, at FROM t WHERE id > $1 AND at < $2::timestamptz AND $3';
    const copy = await run('t-copy', q, [1995, 'now', true]);
    const cursor = await run('t-cursor', byCursor(q), [1995, 'now', true]);
    expect(copy.copied).toBe(true);
    expect(copy.requests).toBe(cursor.requests);
    expect(ids(copy.requests)).toEqual([
      '1996',
      '1997',
      '1998',
      '1999',
      '2000',
      '5001',
      '5002',
      '5003',
      '5004',
      '5005',
    ]);
  });

  it('leaves to the cursor what cannot be inlined, which then fails or runs as before', async () => {
    // Too many values: the cursor's bind refuses it (a literal would have dropped the extra one).
    await expect(run('many', 'SELECT id, txt, at FROM t WHERE id = $1', [1, 2])).rejects.toThrow(
      /bind message supplies 2 parameters, but prepared statement "" requires 1/,
    );
    // A NUL: the server refuses the value.
    await expect(run('nul', 'SELECT id, txt, at FROM t WHERE txt = $1', ['a\0b'])).rejects.toThrow(/0x00/);
    // A type the server cannot infer: the cursor binds it as text, as before.
    const untyped = await run('untyped', 'SELECT id, txt, at, $1 AS extra FROM t WHERE id = 7', ['x']);
    expect(ids(untyped.requests)).toEqual(['7']);
  });
});
