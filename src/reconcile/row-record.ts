import type { TokenUsage } from '../cost/index.ts';
import type { ChunkRowStatus } from './row-status.ts';

/** Why a row did not succeed; `http_status` is set when OpenAI answered with an HTTP error. */
export interface RowError {
  code: string;
  message: string;
  http_status?: number;
  param?: string | null;
  line?: number | null;
  /** For a `rejected` row: every reason planning gave for its input line. */
  reasons?: { reason: string; field?: string; message: string }[];
}

/**
 * One line of `records.jsonl`. `custom_id` comes first on purpose: the final merge reads it from
 * the start of the line without parsing the whole record.
 */
export interface RowRecord {
  custom_id: string;
  status: ChunkRowStatus;
  round: number;
  chunk: number;
  batch_id: string | null;
  retryable: boolean;
  request_id: string | null;
  error: RowError | null;
  usage: TokenUsage | null;
  /** The endpoint's response body when one came back (also for invalid_output, to inspect). */
  response: unknown;
}

/**
 * Serializes a record with `custom_id` first and `response` last, preceded by `response_chars`,
 * the length of the response's JSON text: the final merge copies that text without parsing it,
 * and the length tells it, at no cost, that the text is whole (see splitRecordLine). Pass
 * `responseJson` to write the response as that JSON text instead of serializing `r.response`.
 */
export function recordLine(r: RowRecord, responseJson?: string): string {
  // The response's JSON text as the output file held it, when the caller has it (parse-output-line.ts);
  // JSON.stringify gives undefined (despite its declared type) for an undefined response.
  const response: string | undefined = responseJson ?? JSON.stringify(r.response);
  const head = {
    custom_id: r.custom_id,
    status: r.status,
    round: r.round,
    chunk: r.chunk,
    batch_id: r.batch_id,
    retryable: r.retryable,
    request_id: r.request_id,
    error: r.error,
    usage: r.usage,
    // Absent with the response when it is undefined, as JSON.stringify leaves out such keys.
    response_chars: response?.length,
  };
  if (response === undefined) return JSON.stringify(head);
  return `${JSON.stringify(head).slice(0, -1)},"response":${response}}`;
}

const LEADING_ID = /^\{\s*"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")/;

/** Reads a line's custom_id cheaply when it is the first key, else by parsing the line. */
export function customIdOf(line: string): string | undefined {
  const m = LEADING_ID.exec(line);
  if (m) return JSON.parse(m[1] as string) as string;
  try {
    const v = (JSON.parse(line) as Record<string, unknown> | null)?.['custom_id'];
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

const ID_PREFIX = Buffer.from('{"custom_id":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * {@link customIdOf} on a line's bytes: when the line starts exactly with `{"custom_id":"` and the
 * id has no escapes, only the id is decoded; anything else takes the general path.
 */
export function customIdOfRaw(raw: Buffer): string | undefined {
  if (raw.length > ID_PREFIX.length && raw.compare(ID_PREFIX, 0, ID_PREFIX.length, 0, ID_PREFIX.length) === 0) {
    for (let i = ID_PREFIX.length; i < raw.length; i++) {
      const c = raw[i];
      if (c === QUOTE) return raw.toString('utf8', ID_PREFIX.length, i);
      if (c === BACKSLASH) break;
    }
  }
  return customIdOf(raw.toString('utf8'));
}
