/** One line of OpenAI's output or error file, as far as reconciliation reads it. */
export interface OutputLine {
  custom_id?: unknown;
  response?: { status_code?: number; request_id?: string; body?: unknown } | null;
  error?: { code?: string | null; message?: string | null } | null;
}

const BODY_KEY = '"body":';
// The JSON text of the string "\u0000", put where the body was.
const PLACEHOLDER = '"\\u0000"';
// After the body: the response's `}`, optionally `,"error":null`, and the line's `}`.
const TAIL = /\}\s*(?:,\s*"error"\s*:\s*null\s*)?\}\s*$/;

/**
 * Parses an output line and, when it can, also returns `response.body` as the JSON text the line
 * holds, so the record copies that text instead of re-serializing the body (JSON.stringify of the
 * bodies cost as much as parsing the lines). Undefined when the line is not JSON.
 *
 * The body's text is cut out without scanning it: it starts after the first `"body":` and ends
 * before the line's closing `}` (and `,"error":null`). The cut is then proved, not assumed: the
 * line with a placeholder string in place of the cut (PLACEHOLDER) must parse with exactly that
 * placeholder as `response.body`, and the cut text must parse as one JSON value; then the line is
 * valid JSON whose `response.body` is that value. A line that holds `\u0000` anywhere is never
 * cut, so the placeholder cannot be mistaken for one of its own strings. Anything else (another
 * layout, a non-null `error`, no body) is parsed whole as before.
 */
export function parseOutputLine(text: string): { line: OutputLine; bodyJson?: string } | undefined {
  const cut = cutBody(text);
  if (cut) return cut;
  try {
    return { line: JSON.parse(text) as OutputLine };
  } catch {
    return undefined;
  }
}

function cutBody(text: string): { line: OutputLine; bodyJson: string } | undefined {
  if (text.includes('\\u0000')) return undefined;
  const key = text.indexOf(BODY_KEY);
  if (key < 0) return undefined;
  let from = key + BODY_KEY.length;
  while (isSpace(text.charCodeAt(from))) from++;
  const tailFrom = Math.max(from, text.length - 64);
  const tail = TAIL.exec(text.slice(tailFrom));
  if (!tail) return undefined;
  let to = tailFrom + tail.index;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  if (to <= from) return undefined;
  let line: OutputLine;
  let body: unknown;
  try {
    line = JSON.parse(`${text.slice(0, from)}${PLACEHOLDER}${text.slice(to)}`) as OutputLine;
    if (line.response?.body !== '\u0000') return undefined;
    body = JSON.parse(text.slice(from, to));
  } catch {
    return undefined;
  }
  line.response.body = body;
  return { line, bodyJson: text.slice(from, to) };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
