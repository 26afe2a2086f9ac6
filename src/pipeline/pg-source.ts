import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { FAILURE_TYPES } from '../../common/failures.ts';
import type { EnrichSource, EnrichTemplate, ExportRowsResult } from '../../workflows/enrich/enrich-types.ts';
import { openLineWriter } from '../jsonl/index.ts';
import { CustomIdIndex } from '../plan/index.ts';
import { validateRequestLine } from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import { pgFailure } from './connection.ts';

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
      const s = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
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

function keyOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Streams the source query through a cursor (at most `fetchRows` rows in memory) into the request
 * JSONL and the rejected-rows JSONL, both written atomically to storage: a retry rewrites them whole.
 * `onProgress` is called after every cursor read with the rows seen so far.
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
  const firstRejected: RejectedRow[] = [];
  let rows = 0;
  const reject = (r: RejectedRow): boolean => {
    if (firstRejected.length < 5) firstRejected.push(r);
    return rejected.appendLine(JSON.stringify(r));
  };
  // A cursor reads inside a transaction; READ ONLY so a mistaken query cannot write.
  await client.query('BEGIN READ ONLY');
  const cursor = client.query(new Cursor<Record<string, unknown>>(source.query, [...(source.params ?? [])]));
  try {
    let checkedColumns = false;
    for (;;) {
      let batch: Record<string, unknown>[];
      try {
        batch = await cursor.read(fetchRows);
      } catch (err) {
        throw pgFailure(err, 'running the source query');
      }
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
      if (batch.length === 0) break;
      let room = true;
      for (const row of batch) {
        rows++;
        const key = keyOf(row[source.keyColumn]);
        if (key === null) {
          room =
            reject({ key, row: rows, reason: 'null_key', message: `key column "${source.keyColumn}" is NULL` }) && room;
          continue;
        }
        if (keys.add(key) < 0) {
          room =
            reject({
              key,
              row: rows,
              reason: 'duplicate_key',
              message: `key ${key} appears more than once in the query's rows`,
            }) && room;
          continue;
        }
        const built = requestLineFor(row, key, template, maxTextChars);
        room = ('line' in built ? requests.appendLine(built.line) : reject({ key, row: rows, ...built })) && room;
      }
      if (!room) {
        await requests.flush();
        await rejected.flush();
      }
      options.onProgress?.(rows);
      if (batch.length < fetchRows) break;
    }
    await cursor.close();
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
