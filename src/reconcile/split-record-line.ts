import type { RowRecord } from './row-record.ts';

const RESPONSE_KEY = ',"response":';
// The keys recordLine writes, in its order; `response` is last.
const HEAD_KEYS = ['custom_id', 'status', 'round', 'chunk', 'batch_id', 'retryable', 'request_id', 'error', 'usage'];

export type RecordHead = Omit<RowRecord, 'response'>;

/**
 * Splits one line of `records.jsonl` into its small fields, parsed, and its response body as the
 * JSON text it already is, so the final merge copies bodies instead of parsing and re-serializing
 * them. Records come from `recordLine` (JSON.stringify, `response` last), so that text is exactly
 * what JSON.stringify would give for the parsed body.
 *
 * The first `,"response":` of such a line is the top-level key: inside a JSON string a `"` is
 * always escaped, and a nested match would leave the head's braces unbalanced, so it would not
 * parse. A line that is not laid out by recordLine is parsed whole (`responseJson` undefined then,
 * and `head.response` present).
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
    if (isRecordHead(head)) return { head, responseJson: text.slice(at + RESPONSE_KEY.length, -1) };
  }
  const full = JSON.parse(text) as RowRecord;
  const { response, ...head } = full;
  // A record without a response key keeps it absent, as JSON.stringify of the parsed record would.
  return { head, responseJson: 'response' in full ? JSON.stringify(response) : undefined };
}

function isRecordHead(v: unknown): v is RecordHead {
  if (typeof v !== 'object' || v === null) return false;
  let i = 0;
  for (const key in v) if (key !== HEAD_KEYS[i++]) return false;
  return i === HEAD_KEYS.length;
}
