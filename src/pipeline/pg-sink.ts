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

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as `\N`. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** The parsed structured answer of a succeeded row (JSON text), or null when it has none. */
function answerJson(line: ResultLine, endpoint: BatchEndpoint): string | null {
  if (line.status !== 'succeeded') return null;
  const { text } = answerText(line.response, endpoint);
  if (text === undefined) return null;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return JSON.stringify(text); // a plain-text answer: stored as a JSON string
  }
}

async function* stagingRows(
  storage: BlobStorage,
  resultsUri: string,
  endpoint: BatchEndpoint,
  model: string | null,
): AsyncGenerator<string> {
  for await (const batch of readJsonlRawBatches(await storage.openRead(resultsUri))) {
    let out = '';
    for (const item of batch) {
      if (item.kind !== 'line') continue;
      const r = JSON.parse(item.raw.toString('utf8')) as ResultLine;
      const tokens = r.usage ? (r.usage.input ?? 0) + (r.usage.output ?? 0) : null;
      const batchId = r.batch_ids?.filter((b) => b !== null).at(-1) ?? null;
      out +=
        [
          copyField(r.custom_id),
          copyField(r.status),
          copyField(answerJson(r, endpoint)),
          copyField(r.status === 'succeeded' || r.error == null ? null : JSON.stringify(r.error)),
          copyField(model),
          copyField(tokens),
          copyField(batchId),
        ].join('\t') + '\n';
    }
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

/** The SET list of the succeeded rows' UPDATE and of the failed rows' (status-only) UPDATE. */
function setLists(sink: EnrichSink, types: Map<string, string>): { succeeded: string[]; failed: string[] } {
  const c = sink.columns ?? {};
  const q = (col: string) => quoteName(col, 'sink column');
  const cast = (col: string, expr: string) => `${q(col)} = (${expr})::${types.get(col) as string}`;
  const succeeded: string[] = [];
  const failed: string[] = [];
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
    if (c.enrichedAt) list.push(`${q(c.enrichedAt)} = now()`);
  }
  return { succeeded, failed };
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
  const types = await columnTypes(client, sink.table, sinkColumns(sink));
  if (setLists(sink, types).succeeded.length === 0) throw noColumns();
}

function noColumns(): ApplicationFailure {
  return ApplicationFailure.create({
    message: 'the sink maps no column: name at least one of sink.fields or sink.columns',
    type: FAILURE_TYPES.invalidInput,
    nonRetryable: true,
  });
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
  const table = quoteName(sink.table, 'sink table', true);
  const types = await columnTypes(client, sink.table, sinkColumns(sink));
  const { succeeded, failed } = setLists(sink, types);
  if (succeeded.length === 0) throw noColumns();
  const key = quoteName(sink.keyColumn, 'sink key column');
  const keyType = types.get(sink.keyColumn) as string;
  try {
    await client.query(
      `CREATE TEMP TABLE ${STAGING} (key text PRIMARY KEY, status text NOT NULL, result jsonb, error jsonb,
         model text, tokens bigint, batch_id text) ON COMMIT DROP`,
    );
    const copy = client.query(copyFrom(`COPY ${STAGING} FROM STDIN`));
    await pipeline(stagingRows(storage, options.resultsUri, options.endpoint, options.model), copy);
    const match = `FROM ${STAGING} s WHERE t.${key} = s.key::${keyType}`;
    const done = await client.query(
      `UPDATE ${table} t SET ${succeeded.join(', ')} ${match} AND s.status = 'succeeded'`,
    );
    let rowsUpdated = done.rowCount ?? 0;
    if (sink.onFailed === 'write-status' && failed.length > 0) {
      const other = await client.query(
        `UPDATE ${table} t SET ${failed.join(', ')} ${match} AND s.status <> 'succeeded'`,
      );
      rowsUpdated += other.rowCount ?? 0;
    }
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${STAGING} s WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${key} = s.key::${keyType})`,
    );
    return { rowsUpdated, unmatched: Number(rows[0]?.n ?? 0) };
  } catch (err) {
    throw pgFailure(err, `importing results into ${sink.table}`);
  }
}
