import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { FAILURE_TYPES } from '../../common/failures.ts';
import type { EnrichSink, ImportResultsResult } from '../../workflows/enrich/enrich-types.ts';
import { readJsonlRawBatches } from '../jsonl/index.ts';
import { answerText } from '../reconcile/index.ts';
import type { BatchEndpoint } from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import { pgFailure } from './connection.ts';
import { quoteName } from './sql-names.ts';

/** One line of the job's results.jsonl, as far as the import reads it. */
interface ResultLine {
  custom_id: string;
  status: string;
  batch_ids?: (string | null)[];
  error?: unknown;
  usage?: { input?: number; output?: number } | null;
  response?: unknown;
}

const STAGING = 'openai_batch_import_staging';
// For this transaction only: the UPDATE's hash join over a million staging rows fits in memory.
const STAGING_WORK_MEM = '128MB';
const STAGING_TEMP_BUFFERS = '128MB';

const COPY_SPECIAL = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as `\N`. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  const s = typeof value === 'string' ? value : String(value);
  if (!COPY_SPECIAL.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

// A number JSON.stringify(JSON.parse(...)) could write differently (a fraction or exponent, an
// integer past 2^53, a negative zero); text without one (digits in strings may match: harmless)
// is its own canonical form.
const RESERIALIZE = /\d[.eE]|\d{16}|-0/;

/** The parsed structured answer of a succeeded row (JSON text), or null when it has none. */
function answerJson(line: ResultLine, endpoint: BatchEndpoint): string | null {
  if (line.status !== 'succeeded') return null;
  const { text } = answerText(line.response, endpoint);
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return JSON.stringify(text); // a plain-text answer: stored as a JSON string
  }
  // Numbers as JavaScript writes them (1.0 -> 1), so a typed cast of a field sees what the answer
  // meant; otherwise the text itself: jsonb normalizes the rest (whitespace, key order).
  return RESERIALIZE.test(text) ? JSON.stringify(parsed) : text;
}

/**
 * One results.jsonl line as a row of the staging table in COPY text form (key, status, answer,
 * error, model, tokens, batch id), with its `\n`. `model` is the COPY field of the job's model.
 */
export function stagingLine(raw: Buffer, endpoint: BatchEndpoint, model: string): string {
  const r = JSON.parse(raw.toString('utf8')) as ResultLine;
  const usage = r.usage;
  const tokens = usage ? (usage.input ?? 0) + (usage.output ?? 0) : null;
  let batchId: string | null = null;
  const ids = r.batch_ids;
  if (ids) {
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i];
      if (id !== null && id !== undefined) {
        batchId = id;
        break;
      }
    }
  }
  const error = r.status === 'succeeded' || r.error == null ? '\\N' : copyField(JSON.stringify(r.error));
  return (
    copyField(r.custom_id) +
    '\t' +
    copyField(r.status) +
    '\t' +
    copyField(answerJson(r, endpoint)) +
    '\t' +
    error +
    '\t' +
    model +
    '\t' +
    copyField(tokens) +
    '\t' +
    copyField(batchId) +
    '\n'
  );
}

async function* stagingRows(
  storage: BlobStorage,
  resultsUri: string,
  endpoint: BatchEndpoint,
  model: string | null,
): AsyncGenerator<string> {
  const modelField = copyField(model);
  for await (const batch of readJsonlRawBatches(await storage.openRead(resultsUri))) {
    let out = '';
    for (const item of batch) if (item.kind === 'line') out += stagingLine(item.raw, endpoint, modelField);
    if (out) yield out;
  }
}

/** `format_type` of each named column of the table; refuses a missing table or column by name. */
async function columnTypes(client: pg.Client, table: string, columns: string[]): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  if (rows.length === 0)
    throw ApplicationFailure.create({
      message: `the sink table "${table}" does not exist (or has no columns visible to this user)`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  const types = new Map(rows.map((r) => [r.name, r.type]));
  const missing = columns.filter((c) => !types.has(c));
  if (missing.length > 0)
    throw ApplicationFailure.create({
      message: `the sink table "${table}" has no column ${missing.map((c) => `"${c}"`).join(', ')}: add it (ALTER TABLE ... ADD COLUMN) or fix the sink mapping`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  return types;
}

const jsonish = (type: string): boolean => type === 'jsonb' || type === 'json';

/** One column a result writes: its quoted name and the (cast) staging expression of its value. */
interface Assignment {
  readonly column: string;
  readonly value: string;
}

/** What the succeeded rows write, and what the other rows write (status columns only). */
function assignments(sink: EnrichSink, types: Map<string, string>): { succeeded: Assignment[]; failed: Assignment[] } {
  const c = sink.columns ?? {};
  const q = (col: string) => quoteName(col, 'sink column');
  const cast = (col: string, expr: string): Assignment => ({
    column: q(col),
    value: `(${expr})::${types.get(col) as string}`,
  });
  const succeeded: Assignment[] = [];
  const failed: Assignment[] = [];
  for (const [field, col] of Object.entries(sink.fields ?? {})) {
    const lit = `'${field.replace(/'/g, "''")}'`;
    succeeded.push(
      jsonish(types.get(col) as string) ? cast(col, `s.result -> ${lit}`) : cast(col, `s.result ->> ${lit}`),
    );
  }
  if (c.result) succeeded.push(cast(c.result, 's.result'));
  if (c.model) succeeded.push(cast(c.model, 's.model'));
  if (c.tokens) succeeded.push(cast(c.tokens, 's.tokens'));
  for (const list of [succeeded, failed]) {
    if (c.status) list.push(cast(c.status, 's.status'));
    if (c.error) list.push(cast(c.error, 's.error'));
    if (c.batchId) list.push(cast(c.batchId, 's.batch_id'));
    if (c.enrichedAt) list.push({ column: q(c.enrichedAt), value: 'now()' });
  }
  return { succeeded, failed };
}

const setList = (list: readonly Assignment[]): string => list.map((a) => `${a.column} = ${a.value}`).join(', ');

/** The mode, refusing a value the definition cannot mean. */
function sinkMode(sink: EnrichSink): 'update' | 'upsert' {
  const mode = sink.mode ?? 'update';
  if (mode !== 'update' && mode !== 'upsert')
    throw ApplicationFailure.create({
      message: `sink.mode is "${String(mode)}": use "update" (rows of the table) or "upsert" (a results table with a unique key)`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  return mode;
}

/** Whether the key column carries a unique, non-partial index of that column alone (a primary key or UNIQUE). */
async function hasUniqueKey(client: pg.Client, sink: EnrichSink): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
        AND a.attname = $2`,
    [sink.table, sink.keyColumn],
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * Upsert mode: the key column must carry a unique, non-partial index (a primary key or UNIQUE) of
 * that column alone, which `ON CONFLICT (key)` needs; refused by name otherwise.
 */
async function checkUpsertKey(client: pg.Client, sink: EnrichSink): Promise<void> {
  if (!(await hasUniqueKey(client, sink)))
    throw ApplicationFailure.create({
      message: `sink.mode "upsert" needs a unique key on "${sink.keyColumn}" of "${sink.table}" (INSERT ... ON CONFLICT): add one (ALTER TABLE ${sink.table} ADD PRIMARY KEY (${sink.keyColumn})) or use mode "update"`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
}

/** Every column the sink mapping names. */
export function sinkColumns(sink: EnrichSink): string[] {
  return [sink.keyColumn, ...Object.values(sink.fields ?? {}), ...Object.values(sink.columns ?? {})].filter(
    (c): c is string => typeof c === 'string',
  );
}

/**
 * Checks the sink mapping against the table (it exists, has every named column, the mapping
 * names one), so a mistake fails the run before the export uploads anything.
 */
export async function checkSink(client: pg.Client, sink: EnrichSink): Promise<void> {
  quoteName(sink.table, 'sink table', true);
  const mode = sinkMode(sink);
  const types = await columnTypes(client, sink.table, sinkColumns(sink));
  if (assignments(sink, types).succeeded.length === 0) throw noColumns();
  if (mode === 'upsert') await checkUpsertKey(client, sink);
}

function noColumns(): ApplicationFailure {
  return ApplicationFailure.create({
    message: 'the sink maps no column: name at least one of sink.fields or sink.columns',
    type: FAILURE_TYPES.invalidInput,
    nonRetryable: true,
  });
}

/**
 * The staging table, inside the caller's transaction (dropped at its end). Temporary, so never
 * WAL-logged; its key has the sink key's type, so the join compares keys without a cast (a key
 * the type refuses fails the COPY with a data error, as the cast did). Its primary key is built
 * after the COPY (one sort instead of a million B-tree inserts) and still refuses a duplicate.
 * `work_mem` is raised for this transaction only (the hash join of the UPDATE), and `temp_buffers`
 * too when the session has not used temporary tables yet (afterwards Postgres refuses the change).
 */
async function prepareStaging(client: pg.Client, keyType: string): Promise<void> {
  await client.query(`SET LOCAL work_mem = '${STAGING_WORK_MEM}'`);
  const { rows } = await client.query<{ fresh: boolean }>('SELECT pg_my_temp_schema() = 0 AS fresh');
  if (rows[0]?.fresh) await client.query(`SET LOCAL temp_buffers = '${STAGING_TEMP_BUFFERS}'`);
  await client.query(
    `CREATE TEMP TABLE ${STAGING} (key ${keyType} NOT NULL, status text NOT NULL, result jsonb, error jsonb,
       model text, tokens bigint, batch_id text) ON COMMIT DROP`,
  );
}

/**
 * After the COPY: the primary key (refuses duplicate custom_ids), and statistics of the two
 * columns the plans depend on (the status filter's selectivity: without them the planner expects
 * most rows to have failed and searches the whole sink table for their matches). Not of `result`:
 * a jsonb sample costs more than the join it would inform.
 */
async function indexStaging(client: pg.Client): Promise<void> {
  await client.query(`ALTER TABLE ${STAGING} ADD PRIMARY KEY (key)`);
  await client.query(`ANALYZE ${STAGING} (key, status)`);
}

/**
 * Inside the caller's transaction: COPY results.jsonl into a temporary staging table, then one
 * `UPDATE <table> ... FROM staging` for the succeeded rows (and, with `onFailed: 'write-status'`,
 * one for the others). Nothing is visible until the caller commits; a retry repeats it whole.
 */
export async function importIntoSink(
  client: pg.Client,
  storage: BlobStorage,
  options: { sink: EnrichSink; resultsUri: string; endpoint: BatchEndpoint; model: string | null },
): Promise<Omit<ImportResultsResult, 'alreadyImported'>> {
  const { sink } = options;
  const mode = sinkMode(sink);
  const table = quoteName(sink.table, 'sink table', true);
  const types = await columnTypes(client, sink.table, sinkColumns(sink));
  const { succeeded, failed } = assignments(sink, types);
  if (succeeded.length === 0) throw noColumns();
  if (mode === 'upsert') await checkUpsertKey(client, sink);
  const key = quoteName(sink.keyColumn, 'sink key column');
  const keyType = types.get(sink.keyColumn) as string;
  const writeFailed = sink.onFailed === 'write-status' && failed.length > 0;
  try {
    await prepareStaging(client, keyType);
    const copy = client.query(copyFrom(`COPY ${STAGING} FROM STDIN`));
    await pipeline(stagingRows(storage, options.resultsUri, options.endpoint, options.model), copy);
    await indexStaging(client);
    if (mode === 'upsert') {
      // Every result gets its row: inserted, or the existing one overwritten (the staging
      // table's primary key guarantees one staging row per key, as ON CONFLICT needs).
      const upsert = (list: readonly Assignment[], where: string) =>
        client.query(
          `INSERT INTO ${table} AS t (${key}, ${list.map((a) => a.column).join(', ')})
             SELECT s.key, ${list.map((a) => a.value).join(', ')} FROM ${STAGING} s WHERE ${where}
           ON CONFLICT (${key}) DO UPDATE SET ${list.map((a) => `${a.column} = EXCLUDED.${a.column}`).join(', ')}`,
        );
      let rowsUpdated = (await upsert(succeeded, `s.status = 'succeeded'`)).rowCount ?? 0;
      if (writeFailed) rowsUpdated += (await upsert(failed, `s.status <> 'succeeded'`)).rowCount ?? 0;
      return { rowsUpdated, unmatched: 0 };
    }
    const match = `FROM ${STAGING} s WHERE t.${key} = s.key`;
    const update = `UPDATE ${table} t SET ${setList(succeeded)} ${match} AND s.status = 'succeeded'`;
    // The succeeded rows' UPDATE also gives the staging keys it matched, so that only the other
    // rows (a few, usually) need their own search for a match. With a unique key on the table each
    // staging row matches at most one row, so its row count is that number; otherwise the matched
    // keys are counted (a sort of every updated key).
    const done = (await hasUniqueKey(client, sink))
      ? await client
          .query(update)
          .then((r) => ({ rows: [{ updated: String(r.rowCount ?? 0), matched: String(r.rowCount ?? 0) }] }))
      : await client.query<{ updated: string; matched: string }>(
          `WITH u AS (${update} RETURNING s.key) SELECT count(*) AS updated, count(DISTINCT key) AS matched FROM u`,
        );
    let rowsUpdated = Number(done.rows[0]?.updated ?? 0);
    if (writeFailed) {
      const other = await client.query(`UPDATE ${table} t SET ${setList(failed)} ${match} AND s.status <> 'succeeded'`);
      rowsUpdated += other.rowCount ?? 0;
    }
    const { rows } = await client.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM ${STAGING} WHERE status = 'succeeded') - $1::bigint
            + (SELECT count(*) FROM ${STAGING} s WHERE s.status <> 'succeeded'
                 AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${key} = s.key)) AS n`,
      [done.rows[0]?.matched ?? '0'],
    );
    return { rowsUpdated, unmatched: Number(rows[0]?.n ?? 0) };
  } catch (err) {
    throw pgFailure(err, `importing results into ${sink.table}`);
  }
}
