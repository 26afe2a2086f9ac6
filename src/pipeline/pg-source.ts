import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import Cursor from 'pg-cursor';
import { FAILURE_TYPES } from '../../common/failures.ts';
import type { EnrichSource, EnrichTemplate, ExportRowsResult, SqlParam } from '../../workflows/enrich/enrich-types.ts';
import { openLineWriter } from '../jsonl/index.ts';
import { CustomIdIndex } from '../plan/index.ts';
import { DEFAULT_MAX_CUSTOM_ID_LENGTH, validateRequestLine } from '../requests/index.ts';
import { fastCheckRequest } from '../requests/fast-check.ts';
import type { BlobStorage } from '../storage/index.ts';
import { pgFailure } from './connection.ts';
import { splitCopyRows, type CopyRowSink } from './copy-row-ranges.ts';
import { copyTextRows } from './copy-text.ts';
import { inlineParams } from './inline-params.ts';

/** Why the export refused a row (the `reason` of a rejected line). */
export type RejectReason = 'null_key' | 'duplicate_key' | 'null_text' | 'text_too_long' | 'invalid_request';

/** One line of the export's rejected.jsonl. */
export interface RejectedRow {
  readonly key: string | null;
  readonly row: number;
  readonly reason: RejectReason;
  readonly message: string;
}

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;
export const DEFAULT_MAX_TEXT_CHARS = 20_000;

/** The columns a template's `{{column}}` placeholders name, in order, each once. */
export function templateColumns(template: EnrichTemplate): string[] {
  const names = new Set<string>();
  for (const text of [template.system ?? '', template.user])
    for (const m of text.matchAll(PLACEHOLDER)) names.add(m[1]!);
  return [...names];
}

/** Builds one row's request line, or the reason it cannot. */
export function requestLineFor(
  row: Record<string, unknown>,
  key: string,
  template: EnrichTemplate,
  maxTextChars: number,
): { line: string } | { reason: RejectReason; message: string } {
  let refusal: { reason: RejectReason; message: string } | undefined;
  const fill = (text: string): string =>
    text.replace(PLACEHOLDER, (_, column: string) => {
      const value = row[column];
      if (value === null || value === undefined) {
        refusal ??= { reason: 'null_text', message: `column "${column}" is NULL` };
        return '';
      }
      const s = textOf(value);
      if (s.length > maxTextChars)
        refusal ??= {
          reason: 'text_too_long',
          message: `column "${column}" has ${s.length} characters, more than maxTextChars ${maxTextChars}`,
        };
      return s;
    });
  const user = fill(template.user);
  const system = template.system === undefined ? undefined : fill(template.system);
  if (refusal) return refusal;
  const endpoint = template.endpoint ?? '/v1/chat/completions';
  const body: Record<string, unknown> = { model: template.model };
  const format = template.responseFormat;
  if (endpoint === '/v1/responses') {
    if (system !== undefined) body['instructions'] = system;
    body['input'] = user;
    if (format) body['text'] = { format: { type: 'json_schema', ...format } };
  } else {
    body['messages'] = [
      ...(system !== undefined ? [{ role: 'system', content: system }] : []),
      { role: 'user', content: user },
    ];
    if (format) body['response_format'] = { type: 'json_schema', json_schema: format };
  }
  Object.assign(body, template.params);
  const line = JSON.stringify({ custom_id: key, method: 'POST', url: endpoint, body });
  const checked = validateRequestLine(line, endpoint);
  if (!checked.ok) return { reason: 'invalid_request', message: checked.issues.map((i) => i.message).join('; ') };
  return { line };
}

/** A templated column's value as the prompt shows it. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
}

/** No lone surrogate (`String.prototype.isWellFormed`, ES2024, which the project's lib predates). */
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

// What JSON.stringify escapes in a well-formed string: the quote, the backslash, control characters.
// eslint-disable-next-line no-control-regex
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f]/;

type Refusal = { reason: RejectReason; message: string };
type Built = { line: string } | Refusal;
/** A line as `requestLineFor` gives it, or in parts (UTF-8 bytes and strings) that join into it. */
export type BuiltParts = Built | { parts: readonly (string | Buffer)[] };

/**
 * A builder equal to `requestLineFor` (same verdicts, same bytes), made fast for the export: the
 * template's line is serialized once with markers where the key and each placeholder go, and
 * validated once (a sample row through `validateRequestLine`, which must be vouched for by its
 * structural fast checks). Each row then costs only its own checks (NULL and over-long columns
 * in the slow path's order) and the escaping of its values between the constant fragments.
 * Rows the fragments cannot vouch for go to `requestLineFor` itself: an empty or over-long key,
 * an empty value (a `/v1/responses` input must not be empty), a value with a lone surrogate (its
 * escaping could depend on the neighbouring text). A template the sample does not vouch for
 * (invalid, or a shape only the zod schemas judge) uses `requestLineFor` for every row.
 */
export function rowRequestBuilder(
  template: EnrichTemplate,
  maxTextChars: number,
): (row: Record<string, unknown>, key: string) => Built {
  const build = rowRequestParts(template, maxTextChars);
  return (row, key) => {
    const built = build(row, key);
    if (!('parts' in built)) return built;
    const bytes = built.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
    return { line: Buffer.concat(bytes).toString('utf8') };
  };
}

/**
 * `rowRequestBuilder` for a writer of bytes: a row on the fast path comes as `parts`, the
 * template's constant fragments as UTF-8 bytes encoded once, between the row's escaped values
 * (strings), so that a line costs no string concatenation and only its values are encoded. The
 * `parts` array is reused by the next call: append it before building the next row.
 */
export function rowRequestParts(
  template: EnrichTemplate,
  maxTextChars: number,
): (row: Record<string, unknown>, key: string) => BuiltParts {
  const slow = (row: Record<string, unknown>, key: string): Built => requestLineFor(row, key, template, maxTextChars);
  const compiled = compileFragments(template, maxTextChars);
  if (!compiled) return slow;
  const { fragments, slots, checkOrder } = compiled;
  const n = checkOrder.length;
  const values: string[] = new Array<string>(n);
  // fragments[0], value of slot 0, fragments[1], ..., fragments[last]
  const parts: (string | Buffer)[] = [];
  for (let i = 0; i < fragments.length; i++) {
    parts.push(Buffer.from(fragments[i]!));
    if (i < slots.length) parts.push('');
  }
  return (row, key) => {
    if (key.length === 0 || key.length > DEFAULT_MAX_CUSTOM_ID_LENGTH || !wellFormed(key)) return slow(row, key);
    for (let i = 0; i < n; i++) {
      const column = checkOrder[i]!;
      const value = row[column];
      if (value === null || value === undefined) return { reason: 'null_text', message: `column "${column}" is NULL` };
      const s = textOf(value);
      if (s.length > maxTextChars)
        return {
          reason: 'text_too_long',
          message: `column "${column}" has ${s.length} characters, more than maxTextChars ${maxTextChars}`,
        };
      if (s.length === 0 || !wellFormed(s)) return slow(row, key);
      values[i] = s;
    }
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const text = slot < 0 ? key : values[slot]!;
      // A well-formed string (checked above) with nothing JSON escapes is its own JSON content.
      parts[2 * i + 1] = NEEDS_JSON_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
    }
    return { parts };
  };
}

/**
 * The template's line cut at its markers: `fragments[i]`, then slot `slots[i]` (-1 the key, else
 * an index into `checkOrder`, the columns in the order `requestLineFor` checks them), ... and the
 * last fragment. Undefined when the fast path cannot be proven equal for this template.
 */
export function compileFragments(
  template: EnrichTemplate,
  maxTextChars: number,
): { fragments: string[]; slots: number[]; checkOrder: string[] } | undefined {
  const texts = [template.user, template.system ?? ''];
  if (texts.some((t) => !wellFormed(t))) return undefined;
  const checkOrder: string[] = [];
  for (const text of texts)
    for (const m of text.matchAll(PLACEHOLDER)) if (!checkOrder.includes(m[1]!)) checkOrder.push(m[1]!);
  const whole = JSON.stringify(template);
  let nonce = '';
  for (let tries = 0; tries < 5 && (nonce === '' || whole.includes(nonce)); tries++)
    nonce = `obslot${Math.random().toString(36).slice(2)}`;
  if (whole.includes(nonce)) return undefined;
  // Markers are letters, digits and '@': JSON.stringify copies them as they are.
  const marked: Record<string, unknown> = Object.fromEntries(checkOrder.map((c, i) => [c, `@${nonce}@${i}@`]));
  const built = requestLineFor(marked, `@${nonce}@k@`, template, Number.MAX_SAFE_INTEGER);
  if (!('line' in built)) return undefined;
  const fragments: string[] = [];
  const slots: number[] = [];
  const marker = new RegExp(`@${nonce}@(k|\\d+)@`, 'g');
  let at = 0;
  for (const m of built.line.matchAll(marker)) {
    fragments.push(built.line.slice(at, m.index));
    slots.push(m[1] === 'k' ? -1 : Number(m[1]));
    at = m.index + m[0].length;
  }
  fragments.push(built.line.slice(at));
  // The key must sit in custom_id (params cannot move it, but check rather than assume).
  if (!slots.includes(-1)) return undefined;
  // One sample row, checked the slow way: valid, vouched for by the structural fast checks (so a
  // row differing only in non-empty string values is valid too) and byte-equal to the fragments.
  const sampleRow = Object.fromEntries(checkOrder.map((c) => [c, 'x']));
  const sample = requestLineFor(sampleRow, 'x', template, maxTextChars);
  if (!('line' in sample)) return undefined;
  const endpoint = template.endpoint ?? '/v1/chat/completions';
  if (!fastCheckRequest(JSON.parse(sample.line), endpoint, DEFAULT_MAX_CUSTOM_ID_LENGTH)) return undefined;
  let fast = fragments[0]!;
  for (let i = 0; i < slots.length; i++) fast += 'x' + fragments[i + 1]!;
  if (fast !== sample.line) return undefined;
  return { fragments, slots, checkOrder };
}

function keyOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Rows of the source query, a batch at a time (each batch a read of the cursor or a piece of COPY output). */
type RowBatches = AsyncGenerator<Record<string, unknown>[], void, undefined>;

/**
 * The query's rows through a cursor (at most `fetchRows` rows in memory). One read ahead: the
 * server produces the next rows while the caller turns the last ones into lines (one read in
 * flight at a time, so at most 2 x fetchRows rows in memory).
 */
async function* cursorRows(client: pg.Client, source: EnrichSource, fetchRows: number): RowBatches {
  const cursor = client.query(new Cursor<Record<string, unknown>>(source.query, [...(source.params ?? [])]));
  const read = (): Promise<Record<string, unknown>[]> => {
    const next = cursor.read(fetchRows);
    next.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    return next;
  };
  let pending = read();
  for (;;) {
    let batch: Record<string, unknown>[];
    try {
      batch = await pending;
    } catch (err) {
      throw pgFailure(err, 'running the source query');
    }
    if (batch.length === fetchRows) pending = read();
    if (batch.length > 0) yield batch;
    if (batch.length < fetchRows) break;
  }
  await cursor.close();
}

/** The result columns of a parameterless query, or undefined when it cannot be wrapped in `COPY (...)`. */
async function copyableColumns(client: pg.Client, query: string): Promise<pg.FieldDef[] | undefined> {
  // A savepoint: a query the wrapping breaks (or a wrong one) leaves the transaction usable, and the
  // cursor then runs it as it is (reporting its error as it always has).
  await client.query('SAVEPOINT openai_batch_describe');
  try {
    const { fields } = await client.query(`SELECT * FROM (\n${query}\n) AS openai_batch_source LIMIT 0`);
    await client.query('RELEASE SAVEPOINT openai_batch_describe');
    return fields.length > 0 ? fields : undefined;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT openai_batch_describe');
    return undefined;
  }
}

/** Same names and types, in order. */
const sameColumns = (a: pg.FieldDef[], b: pg.FieldDef[]): boolean =>
  a.length === b.length && a.every((f, i) => f.name === b[i]!.name && f.dataTypeID === b[i]!.dataTypeID);

/**
 * The query as COPY can run it and its result columns, or undefined when it must go through the
 * cursor. A query with parameters gets each `$n` replaced (`inlineParams`) by its value read back
 * from a setting of this transaction (bound with `set_config`, so no value is part of the SQL
 * text), cast to the type the server infers for it (a prepared statement's parameter types),
 * which the server reads with the same input function as a bound value's text. Only when the server infers every
 * type, the count matches, no value holds a NUL (the cursor reports what the server says of it),
 * and the inlined query describes as the bound one does (same columns, same types); otherwise
 * the cursor runs the query with its parameters as it always has.
 */
async function copySource(
  client: pg.Client,
  query: string,
  params: readonly SqlParam[],
): Promise<{ query: string; fields: pg.FieldDef[] } | undefined> {
  if (params.length === 0) {
    const fields = await copyableColumns(client, query);
    return fields && { query, fields };
  }
  if (params.some((p) => typeof p === 'string' && p.includes('\0'))) return undefined;
  await client.query('SAVEPOINT openai_batch_inline');
  try {
    await client.query(`PREPARE openai_batch_source AS\n${query}`);
    const { rows } = await client.query<{ types: string[]; scs: string }>(
      `SELECT parameter_types::text[] AS types, current_setting('standard_conforming_strings') AS scs
         FROM pg_prepared_statements WHERE name = 'openai_batch_source'`,
    );
    await client.query('DEALLOCATE openai_batch_source');
    const types = rows[0]?.types ?? [];
    const ok = rows[0]?.scs === 'on' && types.length === params.length && !types.includes('unknown');
    // The values reach the server only as bound parameters, into settings of this transaction;
    // the query reads them back, so no value is ever part of the SQL text.
    const literals: string[] = [];
    for (const [i, type] of ok ? types.entries() : []) {
      const value = params[i];
      if (value === null || value === undefined) {
        literals.push(`(CAST(NULL AS ${type}))`);
        continue;
      }
      const name = `openai_batch.param_${i + 1}`;
      await client.query('SELECT set_config($1, $2, true)', [name, String(value)]);
      literals.push(`(CAST(current_setting('${name}') AS ${type}))`);
    }
    const inlined = ok ? inlineParams(query, literals) : undefined;
    let result: { query: string; fields: pg.FieldDef[] } | undefined;
    if (inlined !== undefined) {
      const wrap = (q: string) => `SELECT * FROM (\n${q}\n) AS openai_batch_source LIMIT 0`;
      const bound = await client.query(wrap(query), [...params]);
      const literal = await client.query(wrap(inlined));
      if (literal.fields.length > 0 && sameColumns(bound.fields, literal.fields))
        result = { query: inlined, fields: literal.fields };
    }
    await client.query('RELEASE SAVEPOINT openai_batch_inline');
    return result;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT openai_batch_inline');
    return undefined;
  }
}

/**
 * The query's rows through `COPY (query) TO STDOUT` (text format): the server streams them without a
 * round trip per read, and each field's text goes through the type parser a cursor would use
 * (pg's global parsers, as pg-cursor's), so each row object is the one the cursor would give.
 */
function copyRows(client: pg.Client, query: string, fields: pg.FieldDef[]): RowBatches {
  const names = fields.map((f) => f.name);
  const parsers = fields.map((f) => pg.types.getTypeParser(f.dataTypeID, 'text') as (text: string) => unknown);
  const n = fields.length;
  return copyOutput(client, query, async function* (pieces) {
    for await (const batch of copyTextRows(pieces, n)) {
      const rows = new Array<Record<string, unknown>>(batch.length);
      for (let r = 0; r < batch.length; r++) {
        const values = batch[r]!;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const text = values[i]!;
          row[names[i]!] = text === null ? null : parsers[i]!(text);
        }
        rows[r] = row;
      }
      yield rows;
    }
  });
}

/**
 * The output of `COPY (query) TO STDOUT` through `split`. Memory stays bounded by the stream's
 * buffers (it is paused while the caller writes). On an early exit the rest of the output is read
 * and dropped, so the connection can run the next statement.
 */
async function* copyOutput<T>(
  client: pg.Client,
  query: string,
  split: (pieces: AsyncIterable<Buffer>) => AsyncIterable<T>,
): AsyncGenerator<T, void, undefined> {
  const stream = client.query(copyTo(`COPY (\n${query}\n) TO STDOUT`));
  let failed: unknown;
  stream.on('error', (err) => (failed ??= err));
  let ended = false;
  try {
    yield* split(stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>);
    ended = true;
  } catch (err) {
    throw pgFailure(failed ?? err, 'running the source query');
  } finally {
    if (!ended && !stream.destroyed && !stream.readableEnded) {
      const done = new Promise<void>((resolve) => {
        stream
          .once('end', resolve)
          .once('error', () => resolve())
          .once('close', resolve);
      });
      stream.resume();
      await done;
    }
  }
}

/** A key field's text: short ASCII built in place (a `toString` call costs more than a few bytes' loop). */
function keyString(buf: Buffer, start: number, end: number): string {
  if (end - start > 24) return buf.toString('utf8', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return buf.toString('utf8', start, end);
    s += String.fromCharCode(c);
  }
  return s;
}

/** The identity parser pg applies to a type it has no parser for (text, varchar, ...). */
const IDENTITY_PARSER = pg.types.getTypeParser(0 as never, 'text') as (text: string) => unknown;

/**
 * How the export's line is spliced from a plain COPY row's bytes (copy-row-ranges.ts): each slot's
 * field, or undefined when this query and template cannot be (the template has no fragments, a
 * column is missing, or a templated column has a parser: its prompt text is not its COPY text).
 */
function spliceFields(
  fields: pg.FieldDef[],
  keyColumn: string,
  compiled: { slots: number[]; checkOrder: string[] } | undefined,
): { keyField: number; slotFields: number[]; textFields: number[] } | undefined {
  if (!compiled) return undefined;
  const names = fields.map((f) => f.name);
  // A row object keeps the last of two equal names.
  const keyField = names.lastIndexOf(keyColumn);
  const textFields = compiled.checkOrder.map((c) => names.lastIndexOf(c));
  if (keyField < 0 || textFields.some((f) => f < 0)) return undefined;
  if (textFields.some((f) => pg.types.getTypeParser(fields[f]!.dataTypeID, 'text') !== IDENTITY_PARSER))
    return undefined;
  return { keyField, textFields, slotFields: compiled.slots.map((slot) => (slot < 0 ? keyField : textFields[slot]!)) };
}

/**
 * Streams the source query into the request JSONL and the rejected-rows JSONL, both written
 * atomically to storage: a retry rewrites them whole. The query is read through
 * `COPY (query) TO STDOUT`, its parameters read back from settings of the transaction (`copySource`); one that
 * cannot be wrapped or inlined, through a cursor (at most `fetchRows` rows in memory). `onProgress` is called after each batch
 * of rows (a cursor read, a piece of COPY output) with the rows seen so far.
 */
export async function exportRows(
  client: pg.Client,
  storage: BlobStorage,
  options: {
    runId: string;
    source: EnrichSource;
    template: EnrichTemplate;
    onProgress?: (rows: number) => void;
  },
): Promise<Omit<ExportRowsResult, 'model'> & { firstRejected: RejectedRow[] }> {
  const { source, template } = options;
  const columns = templateColumns(template);
  const maxTextChars = source.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  const fetchRows = source.fetchRows ?? 1_000;
  const requests = openLineWriter(storage, storage.jobUri(options.runId, 'export', 'requests.jsonl'));
  const rejected = openLineWriter(storage, storage.jobUri(options.runId, 'export', 'rejected.jsonl'));
  const keys = new CustomIdIndex();
  const build = rowRequestParts(template, maxTextChars);
  const firstRejected: RejectedRow[] = [];
  let rows = 0;
  const reject = (r: RejectedRow): boolean => {
    if (firstRejected.length < 5) firstRejected.push(r);
    return rejected.appendLine(JSON.stringify(r));
  };
  /** After each batch of rows: wait for the disk if it is behind, report progress. */
  const afterBatch = async (): Promise<void> => {
    if (!room) {
      await requests.flush();
      await rejected.flush();
      room = true;
    }
    options.onProgress?.(rows);
  };
  let room = true;
  /** One row of the query (as the cursor gives it): a request line or a rejected line. */
  const take = (row: Record<string, unknown>): void => {
    rows++;
    const key = keyOf(row[source.keyColumn]);
    if (key === null) {
      room =
        reject({ key, row: rows, reason: 'null_key', message: `key column "${source.keyColumn}" is NULL` }) && room;
      return;
    }
    if (keys.add(key) < 0) {
      room = rejectDuplicate(key) && room;
      return;
    }
    const built = build(row, key);
    room =
      ('parts' in built
        ? requests.appendLine(built.parts)
        : 'line' in built
          ? requests.appendLine(built.line)
          : reject({ key, row: rows, ...built })) && room;
  };
  const rejectDuplicate = (key: string): boolean =>
    reject({
      key,
      row: rows,
      reason: 'duplicate_key',
      message: `key ${key} appears more than once in the query's rows`,
    });
  try {
    // A cursor reads inside a transaction; READ ONLY so a mistaken query cannot write (COPY too).
    await client.query('BEGIN READ ONLY');
    const query = source.query.replace(/[\s;]+$/, '');
    const copy = await copySource(client, query, source.params ?? []);
    const compiled = compileFragments(template, maxTextChars);
    const splice = copy && spliceFields(copy.fields, source.keyColumn, compiled);
    if (copy && compiled && splice) {
      // Plain rows (no escape, quote or control byte: copy-row-ranges.ts) are spliced from the COPY
      // output's bytes; a row the fast path of `build` would not take goes to `take` as decoded.
      const names = copy.fields.map((f) => f.name);
      const parsers = copy.fields.map((f) => pg.types.getTypeParser(f.dataTypeID, 'text') as (text: string) => unknown);
      const keyParser = parsers[splice.keyField]!;
      const { keyField, slotFields, textFields } = splice;
      const rowOf = (values: readonly (string | null)[]): Record<string, unknown> => {
        const row: Record<string, unknown> = {};
        for (let i = 0; i < values.length; i++) {
          const text = values[i]!;
          row[names[i]!] = text === null ? null : parsers[i]!(text);
        }
        return row;
      };
      const pieces = compiled.fragments.length + slotFields.length;
      const sources = new Array<Uint8Array>(pieces);
      // The COPY piece the current row is in, as a plain Uint8Array (its slices copy fastest).
      let piece: Buffer | undefined;
      let pieceBytes: Uint8Array = new Uint8Array(0);
      const starts = new Int32Array(pieces);
      const ends = new Int32Array(pieces);
      for (let i = 0; i < compiled.fragments.length; i++) {
        sources[2 * i] = new Uint8Array(Buffer.from(compiled.fragments[i]!));
        ends[2 * i] = sources[2 * i]!.length;
      }
      const sink: CopyRowSink = {
        decoded: (values) => take(rowOf(values)),
        plain(buf, at, to) {
          const keyText = keyString(buf, at[keyField]!, to[keyField]!);
          const key = keyOf(keyParser(keyText));
          // What `build` would escape or send to its slow path (a key the parser changes, empty or
          // over-long text, counted in bytes: never fewer than its UTF-16 units) takes the long way.
          let plain = key === keyText && key.length > 0 && key.length <= DEFAULT_MAX_CUSTOM_ID_LENGTH;
          for (let i = 0; plain && i < textFields.length; i++) {
            const bytes = to[textFields[i]!]! - at[textFields[i]!]!;
            plain = bytes > 0 && bytes <= maxTextChars;
          }
          if (!plain) {
            const values = new Array<string>(names.length);
            for (let i = 0; i < names.length; i++) values[i] = buf.toString('utf8', at[i], to[i]);
            take(rowOf(values));
            return;
          }
          rows++;
          if (keys.add(keyText) < 0) {
            room = rejectDuplicate(keyText) && room;
            return;
          }
          if (buf !== piece) {
            piece = buf;
            pieceBytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
          }
          for (let i = 0; i < slotFields.length; i++) {
            sources[2 * i + 1] = pieceBytes;
            starts[2 * i + 1] = at[slotFields[i]!]!;
            ends[2 * i + 1] = to[slotFields[i]!]!;
          }
          room = requests.appendLineRanges(sources, starts, ends, pieces) && room;
        },
      };
      for await (const count of copyOutput(client, copy.query, (output) => splitCopyRows(output, names.length, sink)))
        if (count > 0) await afterBatch();
    } else {
      const batches = copy ? copyRows(client, copy.query, copy.fields) : cursorRows(client, source, fetchRows);
      let checkedColumns = false;
      for await (const batch of batches) {
        if (!checkedColumns && batch[0]) {
          checkedColumns = true;
          const have = Object.keys(batch[0]);
          const missing = [source.keyColumn, ...columns].filter((c) => !have.includes(c));
          if (missing.length > 0)
            throw ApplicationFailure.create({
              message: `the source query returns no column ${missing.map((c) => `"${c}"`).join(', ')} (it returns ${have.map((c) => `"${c}"`).join(', ')}): fix the query, keyColumn or the template's {{placeholders}}`,
              type: FAILURE_TYPES.invalidInput,
              nonRetryable: true,
            });
        }
        for (const row of batch) take(row);
        await afterBatch();
      }
    }
    await client.query('COMMIT');
    const req = await requests.close();
    const rej = await rejected.close();
    return {
      inputUri: req.uri,
      rows,
      requests: req.lines,
      rejected: { count: rej.lines, uri: rej.uri },
      firstRejected,
    };
  } catch (err) {
    await requests.abort();
    await rejected.abort();
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
