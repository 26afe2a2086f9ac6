// The export splices a plain COPY row's bytes (no backslash, quote or control byte, valid UTF-8)
// into its request line without decoding it (src/pipeline/copy-row-ranges.ts), and decodes every
// other row. Against a real Postgres, with a template of text columns only (the spliced path), the
// request lines and rejected rows must be byte for byte the cursor's (which decodes every row):
// text with quotes, backslashes, every character COPY escapes, raw control bytes, multi-byte and
// astral characters, U+2028, NULL and empty text, text over maxTextChars in characters and text
// over it in bytes only, NULL and duplicate keys, bigint, int and text keys, over enough rows that
// rows are cut between the pieces of COPY output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRows } from '../../src/pipeline/pg-source.ts';
import { FileStorage } from '../../src/storage/index.ts';
import type { EnrichTemplate } from '../../workflows/enrich/enrich-types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const template: EnrichTemplate = {
  model: 'gpt-4o-mini',
  system: 'Label "{{vc}}" reviews.',
  user: 'Review: {{body}}',
  responseFormat: {
    name: 'labels',
    strict: true,
    schema: { type: 'object', properties: {}, additionalProperties: false },
  },
};

// Each row's body is one of these, after a plain prefix that varies.
const BODIES = [
  'plain ASCII, nothing to escape',
  'a "quoted" word',
  'a backslash \\ and \\N, not NULL',
  'tab\there, newline\nand\rreturn, \b\f\v',
  'raw control \x01 \x07 \x1f and DEL \x7f',
  'é ü 😀 and U+2028 \u2028 U+2029 \u2029',
  'ßßß multi-byte',
];

describe('the spliced export equals the decoded one', () => {
  let server: TestPostgres;
  let client: pg.Client;
  let dir: string;
  let storage: FileStorage;

  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'export-splice-'));
    storage = new FileStorage(dir);
    await client.query('CREATE TABLE t (id bigint, n int, k text, vc varchar(20), body text)');
    await client.query(
      `INSERT INTO t SELECT i, i, 'k' || i, 'v' || (i % 5), 'row ' || i || ' ' || ($1::text[])[1 + i % $2]
         FROM generate_series(1, 6000) i`,
      [BODIES, BODIES.length],
    );
    // NULL text, empty text (the prompt is not empty), over maxTextChars (100) in characters, over it only in bytes (60 x 'é'
    // = 120 bytes), a NULL key, duplicate keys (a plain row and a decoded one), a key with a quote.
    await client.query(`INSERT INTO t VALUES
      (6001, 6001, 'k6001', 'v', NULL), (6002, 6002, 'k6002', 'v', ''),
      (6003, 6003, 'k6003', 'v', repeat('y', 101)), (6004, 6004, 'k6004', 'v', repeat('é', 60)),
      (NULL, NULL, NULL, 'v', 'no key'), (5, 5, 'k5', 'v', 'dup plain'), (7, 7, 'k7', 'v', 'dup "quoted"'),
      (6005, 6005, 'k"6005', 'v', 'a key with a quote')`);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(runId: string, query: string, keyColumn: string, params: number[] = []) {
    const out = await exportRows(client, storage, {
      runId,
      source: { query, params, keyColumn, maxTextChars: 100 },
      template,
    });
    const read = (name: string) => readFile(join(dir, runId, 'export', name), 'utf8');
    return { out, requests: await read('requests.jsonl'), rejected: await read('rejected.jsonl') };
  }

  for (const key of ['id', 'n', 'k'])
    it(`writes the cursor's lines and rejects its rows (key ${key})`, async () => {
      const select = `SELECT ${key}, vc, body FROM t ORDER BY id NULLS LAST, body`;
      const spliced = await run(`splice-${key}`, select, key);
      // A comment after the `;`: COPY cannot wrap it, so the cursor reads it (and decodes every row).
      const cursor = await run(`cursor-${key}`, `${select}; -- through the cursor`, key);
      expect(spliced.out.rows).toBe(6008);
      expect(spliced.requests).toBe(cursor.requests);
      expect(spliced.rejected).toBe(cursor.rejected);
      // Rejected: the NULL key, the two duplicates, the NULL text and the text over 100 characters.
      expect(spliced.out.rejected.count).toBe(5);
      expect(spliced.out.requests).toBe(6008 - 5);
      for (const reason of ['null_key', 'duplicate_key', 'null_text', 'text_too_long'])
        expect(spliced.rejected).toContain(`"reason":"${reason}"`);
      const lines = spliced.requests.trimEnd().split('\n');
      const contents = lines.map(
        (l) => (JSON.parse(l) as { body: { messages: { content: string }[] } }).body.messages[1]!.content,
      );
      for (const body of BODIES) expect(contents.some((c) => c.endsWith(` ${body}`))).toBe(true);
      expect(contents).toContain(`Review: ${'é'.repeat(60)}`);
    });
});
