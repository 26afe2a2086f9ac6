import type { RowRecord } from './row-record.ts';

const RESPONSE_KEY = ',"response":';
// The keys recordLine writes, in its order; `response` is last, after `response_chars`. Records
// written before `response_chars` existed lack it.
const HEAD_KEYS = ['custom_id', 'status', 'round', 'chunk', 'batch_id', 'retryable', 'request_id', 'error', 'usage'];
const SIZED_HEAD_KEYS = [...HEAD_KEYS, 'response_chars'];

export type RecordHead = Omit<RowRecord, 'response'>;

/**
 * Splits one line of `records.jsonl` into its small fields, parsed, and its response body as the
 * JSON text it already is, so the final merge copies bodies instead of parsing and re-serializing
 * them. Records come from `recordLine` (JSON.stringify, `response` last), so that text is exactly
 * what JSON.stringify would give for the parsed body.
 *
 * The first `,"response":` of such a line is the top-level key: inside a JSON string a `"` is
 * always escaped, and a nested match would leave the head's braces unbalanced, so it would not
 * parse. The response must also end right before the final `}` (no key after it): `response_chars`
 * says so at no cost; for records without it, brackets are counted through the text (which cost
 * as much as the rest of the merge). A line laid out otherwise is parsed whole. `response_chars`
 * is not part of the head returned.
 */
export function splitRecordLine(text: string): { head: RecordHead; responseJson: string | undefined } {
  const at = text.indexOf(RESPONSE_KEY);
  if (at > 0 && text.charCodeAt(text.length - 1) === 0x7d) {
    let head: unknown;
    try {
      head = JSON.parse(`${text.slice(0, at)}}`);
    } catch {
      head = undefined;
    }
    const from = at + RESPONSE_KEY.length;
    const end = text.length - 1;
    if (hasKeys(head, SIZED_HEAD_KEYS)) {
      const { response_chars: chars, ...rest } = head as RecordHead & { response_chars: unknown };
      if (chars === end - from) return { head: rest, responseJson: text.slice(from, -1) };
    } else if (hasKeys(head, HEAD_KEYS) && valueEndsAt(text, from, end))
      return { head: head as RecordHead, responseJson: text.slice(from, -1) };
  }
  const full = JSON.parse(text) as RowRecord & { response_chars?: unknown };
  const { response, response_chars: _chars, ...head } = full;
  // A record without a response key keeps it absent, as JSON.stringify of the parsed record would.
  return { head, responseJson: 'response' in full ? JSON.stringify(response) : undefined };
}

function hasKeys(v: unknown, keys: readonly string[]): boolean {
  if (typeof v !== 'object' || v === null) return false;
  let i = 0;
  for (const key in v) if (key !== keys[i++]) return false;
  return i === keys.length;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index after the string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  for (let q = text.indexOf('"', open + 1); q !== -1; q = text.indexOf('"', q + 1)) {
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q + 1;
  }
  return -1;
}

/**
 * Whether the JSON value that starts at `from` ends exactly at `end`: brackets are counted outside
 * strings, and strings are skipped with indexOf, so it costs far less than parsing the value.
 */
function valueEndsAt(text: string, from: number, end: number): boolean {
  const first = text.charCodeAt(from);
  if (first === QUOTE) return stringEnd(text, from) === end;
  if (first !== 0x7b && first !== 0x5b) {
    // A number, true, false or null: no comma, quote or bracket inside.
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x2c || c === QUOTE || c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d) return false;
    }
    return end > from;
  }
  let depth = 0;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const after = stringEnd(text, i);
      if (after === -1) return false;
      i = after - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1 === end;
    }
  }
  return false;
}
