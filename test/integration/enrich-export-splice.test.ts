// The export splices a plain COPY row's bytes (no backslash, quote or control byte, valid UTF-8)
// into its request line without decoding it (src/pipeline/copy-row-ranges.ts), and decodes every
// other row. Against a real Postgres, with templates of text columns only (the spliced path), the
// request lines and rejected rows must be byte for byte the cursor's (which decodes every row):
// text with quotes, backslashes, every character COPY escapes, raw control bytes, multi-byte and
// astral characters, U+2028, NULL and empty text (an empty `/v1/responses` input is invalid), text
// over maxTextChars in characters and text over it in bytes only, NULL and duplicate keys, bigint,
// int, text and date keys (a date's key is its parsed value, not its COPY text), a key over the
// custom_id limit, invalid UTF-8 (a SQL_ASCII database stores any bytes), over enough rows that
// rows are cut between the pieces of COPY output. Each check the splice makes on a row's bytes
// fails one of these when dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRows } from '../../src/pipeline/pg-source.ts';
import { FileStorage } from '../../src/storage/index.ts';
import type { EnrichTemplate } from '../../workflows/enrich/enrich-types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const chat: EnrichTemplate = {
  model: 'gpt-4o-mini',
  system: 'Label "{{vc}}" reviews.',
  user: 'Review: {{body}}',
  responseFormat: {
    name: 'labels',
    strict: true,
    schema: { type: 'object', properties: {}, additionalProperties: false },
  },
};

// The whole input is the column: an empty one makes an invalid request.
const responses: EnrichTemplate = { endpoint: '/v1/responses', model: 'gpt-4o-mini', user: '{{body}}' };

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
    await client.query(`CREATE TABLE t (id bigint, n int, k text, vc varchar(20), body text,
      d date GENERATED ALWAYS AS (DATE '2000-01-01' + n) STORED)`);
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
      (6005, 6005, 'k"6005', 'v', 'a key with a quote'), (6006, 6006, repeat('k', 600), 'v', 'a long text key')`);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(runId: string, query: string, keyColumn: string, template = chat, on = client) {
    const out = await exportRows(on, storage, {
      runId,
      source: { query, keyColumn, maxTextChars: 100 },
      template,
    });
    // latin1: one character per byte, so equal strings are equal bytes (invalid UTF-8 included).
    const read = (name: string) => readFile(join(dir, runId, 'export', name), 'latin1');
    return { out, requests: await read('requests.jsonl'), rejected: await read('rejected.jsonl') };
  }

  /** The query through COPY (spliced) and through the cursor (decoded), which must write the same bytes. */
  async function both(name: string, select: string, key: string, template = chat, on = client) {
    const spliced = await run(`splice-${name}`, select, key, template, on);
    // A comment after the `;`: COPY cannot wrap it, so the cursor reads it (and decodes every row).
    const cursor = await run(`cursor-${name}`, `${select}; -- through the cursor`, key, template, on);
    expect(spliced.requests).toBe(cursor.requests);
    expect(spliced.rejected).toBe(cursor.rejected);
    const counts = ({ out }: typeof spliced) => [out.rows, out.requests, out.rejected.count, out.firstRejected];
    expect(counts(spliced)).toEqual(counts(cursor));
    return spliced;
  }

  for (const key of ['id', 'n', 'k', 'd'])
    it(`writes the cursor's lines and rejects its rows (key ${key})`, async () => {
      const spliced = await both(key, `SELECT ${key}, vc, body FROM t ORDER BY id NULLS LAST, body`, key);
      expect(spliced.out.rows).toBe(6009);
      // Rejected: the NULL key, the two duplicates, the NULL text and the text over 100 characters
      // (and with the text key, the one over the custom_id limit).
      const rejected = key === 'k' ? 6 : 5;
      expect(spliced.out.rejected.count).toBe(rejected);
      expect(spliced.out.requests).toBe(6009 - rejected);
      for (const reason of ['null_key', 'duplicate_key', 'null_text', 'text_too_long'])
        expect(spliced.rejected).toContain(`"reason":"${reason}"`);
      const lines = Buffer.from(spliced.requests, 'latin1').toString('utf8').trimEnd().split('\n');
      const contents = lines.map(
        (l) => (JSON.parse(l) as { body: { messages: { content: string }[] } }).body.messages[1]!.content,
      );
      for (const body of BODIES) expect(contents.some((c) => c.endsWith(` ${body}`))).toBe(true);
      expect(contents).toContain(`Review: ${'é'.repeat(60)}`);
      if (key === 'd') expect(lines[0]).toContain(`"custom_id":"${new Date(2000, 0, 2).toISOString()}"`);
    });

  it("writes the cursor's lines for /v1/responses (an empty input is rejected)", async () => {
    const spliced = await both('responses', 'SELECT id, body FROM t ORDER BY id NULLS LAST, body', 'id', responses);
    // As above, and the empty text: an invalid request.
    expect(spliced.out.rejected.count).toBe(6);
    expect(spliced.rejected).toContain('"reason":"invalid_request"');
  });

  it("writes the cursor's lines from a SQL_ASCII database (invalid UTF-8 bytes)", async () => {
    await client.query(`CREATE DATABASE bytes ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    const other = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/bytes') });
    await other.connect();
    // The server checks its output against the client's encoding (pg asks for UTF8): a session
    // in SQL_ASCII gets the stored bytes as they are.
    await other.query(`SET client_encoding = 'SQL_ASCII'`);
    try {
      await other.query('CREATE TABLE b (id bigint, body text)');
      // Plain rows, then a row with a byte that is not UTF-8 and one with a cut multi-byte character.
      await other.query(
        `INSERT INTO b SELECT i, 'row ' || i || CASE i % 1000 WHEN 7 THEN E' \\xff' WHEN 8 THEN E' \\xc3' ELSE '' END
           FROM generate_series(1, 6000) i`,
      );
      const spliced = await both('bytes', 'SELECT id, body FROM b ORDER BY id', 'id', responses, other);
      expect(spliced.out.requests).toBe(6000);
      // The cursor decodes the bytes as UTF-8, so the lines hold U+FFFD where they were.
      expect(Buffer.from(spliced.requests, 'latin1').toString('utf8')).toContain('"input":"row 7 \ufffd"');
    } finally {
      await other.end();
    }
  });
});
