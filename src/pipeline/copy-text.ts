/**
 * Decoding of Postgres' COPY text format (`COPY ... TO STDOUT`, the default format): one row per
 * line ending in `\n`, fields separated by tabs, `\N` for NULL, and backslash escapes for the
 * characters a field cannot hold as they are. COPY TO writes `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and
 * `\v`; the decoder also takes the octal (`\123`) and hex (`\x4f`) byte forms COPY FROM accepts, and
 * any other escaped character as itself, as the server's own parser does.
 */

const LF = 0x0a;
const TAB = 0x09;
const BACKSLASH = 0x5c;

const SIMPLE: Record<number, number> = {
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

const isOctal = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;
function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** One escaped field's bytes `buf[start, end)` decoded (escapes resolved as bytes, then UTF-8). */
function unescapeField(buf: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== BACKSLASH || i + 1 >= end) {
      out[n++] = c;
      continue;
    }
    const d = buf[++i]!;
    const simple = SIMPLE[d];
    if (simple !== undefined) out[n++] = simple;
    else if (isOctal(d)) {
      let v = d - 0x30;
      for (let k = 0; k < 2 && i + 1 < end && isOctal(buf[i + 1]); k++) v = v * 8 + (buf[++i]! - 0x30);
      out[n++] = v & 0xff;
    } else if (d === 0x78 && hexValue(buf[i + 1]) >= 0 && i + 1 < end) {
      let v = hexValue(buf[++i]);
      if (i + 1 < end && hexValue(buf[i + 1]) >= 0) v = v * 16 + hexValue(buf[++i]);
      out[n++] = v;
    } else out[n++] = d;
  }
  return out.toString('utf8', 0, n);
}

/** The field `buf[start, end)`: null for `\N`, else its text. */
export function field(buf: Buffer, start: number, end: number): string | null {
  if (end - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === 0x4e) return null;
  const text = buf.toString('utf8', start, end);
  // A backslash byte is never part of a multi-byte UTF-8 sequence, so the text shows every escape.
  return text.includes('\\') ? unescapeField(buf, start, end) : text;
}

/**
 * Splits a stream of COPY text output into rows of `columns` fields (each a string, or null for
 * NULL), yielded a batch per piece of the stream (a row cut between pieces is completed by the
 * next). Throws on a row with another number of fields or output that ends inside a row.
 */
export async function* copyTextRows(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  columns: number,
): AsyncGenerator<(string | null)[][]> {
  let pending: Buffer[] = [];
  for await (const piece of source) {
    if (piece.indexOf(LF) === -1) {
      pending.push(piece);
      continue;
    }
    const buf = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
    pending = [];
    const rows: (string | null)[][] = [];
    let start = 0;
    for (let nl = buf.indexOf(LF, start); nl !== -1; nl = buf.indexOf(LF, start)) {
      const row = new Array<string | null>(columns);
      let at = start;
      for (let i = 0; i < columns - 1; i++) {
        const tab = buf.indexOf(TAB, at);
        if (tab === -1 || tab > nl) throw fieldCount(buf, start, nl, columns);
        row[i] = field(buf, at, tab);
        at = tab + 1;
      }
      const tab = buf.indexOf(TAB, at);
      if (tab !== -1 && tab < nl) throw fieldCount(buf, start, nl, columns);
      row[columns - 1] = field(buf, at, nl);
      rows.push(row);
      start = nl + 1;
    }
    if (start < buf.length) pending.push(buf.subarray(start));
    if (rows.length > 0) yield rows;
  }
  if (pending.length > 0) throw new Error('COPY output ended inside a row (no final newline)');
}

/** The error for a row `buf[start, end)` that has not `columns` fields. */
export function fieldCount(buf: Buffer, start: number, end: number, columns: number): Error {
  let tabs = 0;
  for (let i = start; i < end; i++) if (buf[i] === TAB) tabs++;
  return new Error(`a COPY row has ${tabs + 1} fields, expected ${columns}`);
}
