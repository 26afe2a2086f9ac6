// The export reads a query through `COPY (query) TO STDOUT` (its parameters inlined) and one COPY
// cannot wrap through a cursor. Against a real Postgres, both paths must write the same request
// lines and the same rejected rows, byte for byte, over columns of many types (each shown in the
// prompt as the cursor's row object gives it), text with every character COPY escapes, NULLs,
// duplicate and NULL keys, and over-long text; a query COPY cannot wrap still runs (by the cursor),
// a failing query fails with the server's message, and an early stop leaves the connection usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRows } from '../../src/pipeline/pg-source.ts';
import { FileStorage } from '../../src/storage/index.ts';
import type { EnrichTemplate } from '../../workflows/enrich/enrich-types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const COLUMNS = ['i4', 'i8', 'num', 'f8', 'b', 'd', 'ts', 'tstz', 'j', 'jb', 'arr', 'txt', 'vc', 'ch', 'by', 'u', 'iv'];

const template: EnrichTemplate = {
  model: 'gpt-4o-mini',
  system: 'Types: {{i4}} {{i8}} {{num}} {{f8}} {{b}} {{d}} {{ts}} {{tstz}} {{j}} {{jb}} {{arr}}',
  user: '{{txt}} | {{vc}} | {{ch}} | {{by}} | {{u}} | {{iv}}',
};

describe('the export through COPY equals the export through a cursor', () => {
  let server: TestPostgres;
  let client: pg.Client;
  let dir: string;
  let storage: FileStorage;

  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'export-copy-'));
    storage = new FileStorage(dir);
    await client.query(`CREATE TABLE t (id bigint, i4 int, i8 bigint, num numeric, f8 float8, b boolean, d date,
      ts timestamp, tstz timestamptz, j json, jb jsonb, arr int[], txt text, vc varchar(40), ch char(5), by bytea,
      u uuid, iv interval)`);
    await client.query(`INSERT INTO t
      SELECT i, i * 7 - 3, i * 100000000000, i / 7.0, i / 3.0, i % 2 = 0, date '2024-01-01' + i,
             timestamp '2024-01-01 10:00' + i * interval '1 hour', timestamptz '2024-03-01 10:00+02' + i * interval '1 minute',
             json_build_object('i', i, 'f', i / 4.0), jsonb_build_object('s', 'x' || i, 'n', i),
             ARRAY[i, i + 1], 'row ' || i || E'\\t tab \\n newline \\r return \\\\ backslash "quote" é 😀 \\x01',
             'v' || i, 'c' || (i % 10), decode(md5(i::text), 'hex'), md5(i::text)::uuid, i * interval '90 seconds'
        FROM generate_series(1, 3000) i`);
    // NULL text, NULL key, a duplicate key, an over-long text, an empty text.
    await client.query(`INSERT INTO t (id, i4, txt) VALUES (5, 1, 'dup'), (NULL, 1, 'no key')`);
    await client.query(`UPDATE t SET txt = NULL WHERE id = 10`);
    await client.query(`UPDATE t SET txt = repeat('y', 5000) WHERE id = 11`);
    await client.query(`UPDATE t SET txt = '' WHERE id = 12`);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(runId: string, query: string, params: (string | number)[] = [], tpl = template) {
    const out = await exportRows(client, storage, {
      runId,
      source: { query, params, keyColumn: 'id', maxTextChars: 4000 },
      template: tpl,
    });
    const read = (name: string) => readFile(join(dir, runId, 'export', name), 'utf8');
    return { out, requests: await read('requests.jsonl'), rejected: await read('rejected.jsonl') };
  }

  it('writes the same lines and rejects the same rows', async () => {
    const select = `SELECT id, ${COLUMNS.join(', ')} FROM t`;
    const copy = await run('copy', `${select} WHERE true ORDER BY id NULLS LAST, txt;`);
    // A query COPY cannot wrap (the comment after the `;`) goes through the cursor.
    const cursor = await run('cursor', `${select} WHERE $1::int = 1 ORDER BY id NULLS LAST, txt; -- cursor`, [1]);
    // With parameters inlined, through COPY.
    const inlined = await run('inlined', `${select} WHERE $1::int = 1 ORDER BY id NULLS LAST, txt`, [1]);
    expect(inlined.requests).toBe(cursor.requests);
    expect(copy.out.rows).toBe(3002);
    expect(copy.out.requests).toBeGreaterThan(2990);
    expect(copy.requests).toBe(cursor.requests);
    expect(copy.rejected).toBe(cursor.rejected);
    expect(copy.out.rejected.count).toBe(cursor.out.rejected.count);
    expect(copy.rejected).toContain('"reason":"duplicate_key"');
    expect(copy.rejected).toContain('"reason":"null_key"');
    expect(copy.rejected).toContain('"reason":"null_text"');
    expect(copy.rejected).toContain('"reason":"text_too_long"');
    // The prompt shows what the cursor's row object holds: e.g. a Date as ISO text, JSON re-serialized.
    const first = JSON.parse(copy.requests.split('\n')[0]!) as { body: { messages: { content: string }[] } };
    expect(first.body.messages[0]!.content).toContain('"i":1');
    expect(first.body.messages[1]!.content).toContain('\t tab \n newline \r return \\ backslash "quote" é 😀 \x01');
  });

  it('runs a query COPY cannot wrap through the cursor; a bad query and a missing column fail with their messages', async () => {
    const small: EnrichTemplate = { model: 'gpt-4o-mini', user: '{{txt}}' };
    // `(...; -- comment)` is no subquery: the describe fails, the cursor runs the query as it is.
    const odd = await run('odd', 'SELECT id, txt FROM t WHERE id <= 3 ORDER BY id; -- the first three', [], small);
    expect(odd.out.requests).toBe(3);
    await expect(run('bad', 'SELECT id, nope FROM t', [], small)).rejects.toThrow(
      /^running the source query: column "nope" does not exist \(SQLSTATE 42703\)$/,
    );
    // Refused at the first piece of COPY output, with 3,000 rows still streaming: the rest is read
    // and dropped, and the connection runs the next statement.
    await expect(run('missing', 'SELECT id, body FROM (SELECT id, txt AS body FROM t) s', [], small)).rejects.toThrow(
      'the source query returns no column "txt" (it returns "id", "body")',
    );
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM t');
    expect(rows[0]!.n).toBe('3002');
  });
});
