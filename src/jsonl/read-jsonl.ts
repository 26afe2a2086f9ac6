import { isUtf8 } from 'node:buffer';

/** One non-blank line as bytes: its 1-based number, the byte offset where it starts, its bytes. */
export interface JsonlRawLine {
  readonly kind: 'line';
  readonly lineNumber: number;
  readonly offset: number;
  /** The line's bytes without `\n`, `\r\n` or BOM; a view into the read buffer, copy it to keep it. */
  readonly raw: Buffer;
  /** The input holds exactly `raw` and one `\n` from `offset` (no `\r`; not an unterminated last line). */
  readonly exact: boolean;
}

/** One non-blank line: its 1-based number, the byte offset where it starts, and its text (no EOL). */
export interface JsonlLine extends JsonlRawLine {
  readonly text: string;
}

/**
 * Something the reader will not pass off as a normal line. `bom` is a warning (the BOM is stripped
 * and line 1 still follows); `invalid_utf8` and `line_too_long` replace the line they describe.
 */
export interface JsonlIssue {
  readonly kind: 'bom' | 'invalid_utf8' | 'line_too_long';
  readonly lineNumber: number;
  readonly offset: number;
  /** Length of the line in bytes (3 for a BOM). */
  readonly bytes: number;
}

export type JsonlItem = JsonlLine | JsonlIssue;
export type JsonlRawItem = JsonlRawLine | JsonlIssue;

export interface ReadJsonlOptions {
  /** Lines longer than this are reported, never buffered whole. @default 210 * 1024 * 1024 */
  readonly maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

function isBlank(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

function toBuffer(piece: Uint8Array | string): Buffer {
  if (typeof piece === 'string') return Buffer.from(piece);
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/**
 * Splits a byte stream into JSONL lines, yielding them in batches (one batch per input chunk) so
 * that a million-line file costs a few thousand awaits rather than a million. LF and CRLF both end
 * a line; blank lines are skipped but still counted, so line numbers match an editor's.
 */
export function readJsonlBatches(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadJsonlOptions = {},
): AsyncGenerator<JsonlItem[]> {
  return splitLines(source, options, true) as AsyncGenerator<JsonlItem[]>;
}

/**
 * The same as {@link readJsonlBatches} without decoding lines to strings, for callers that only
 * look at bytes (copying request lines, finding a leading `custom_id`): decoding costs about as
 * much as reading.
 */
export function readJsonlRawBatches(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadJsonlOptions = {},
): AsyncGenerator<JsonlRawItem[]> {
  return splitLines(source, options, false);
}

async function* splitLines(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadJsonlOptions,
  decode: boolean,
): AsyncGenerator<JsonlRawItem[]> {
  const maxLineBytes = options.maxLineBytes ?? 210 * 1024 * 1024;
  let lineNumber = 0;
  let offset = 0;
  let carry: Buffer[] = [];
  let carryLen = 0;
  let overLong = false;
  let first = true;
  let out: JsonlRawItem[] = [];

  const finishLine = (raw: Buffer | null, length: number, knownUtf8: boolean, terminated: boolean): void => {
    lineNumber++;
    const start = offset;
    offset += length;
    if (raw === null || length > maxLineBytes) {
      out.push({ kind: 'line_too_long', lineNumber, offset: start, bytes: length });
      return;
    }
    const end = raw.length > 0 && raw[raw.length - 1] === CR ? raw.length - 1 : raw.length;
    const line = end === raw.length ? raw : raw.subarray(0, end);
    if (line.length === 0 || (line[0] !== 0x7b && isBlank(line))) return;
    if (!knownUtf8 && !isUtf8(line)) {
      out.push({ kind: 'invalid_utf8', lineNumber, offset: start, bytes: line.length });
      return;
    }
    const exact = terminated && line === raw;
    const item: JsonlRawLine | JsonlLine = decode
      ? { kind: 'line', lineNumber, offset: start, raw: line, exact, text: line.toString('utf8') }
      : { kind: 'line', lineNumber, offset: start, raw: line, exact };
    out.push(item);
  };

  for await (const piece of readAhead(source)) {
    let buf = toBuffer(piece);
    if (first && buf.length > 0) {
      first = false;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        out.push({ kind: 'bom', lineNumber: 1, offset: 0, bytes: 3 });
        buf = buf.subarray(3);
        offset = 3;
      }
    }
    let pos = 0;
    // One UTF-8 check over the whole lines of this read (they are nearly always valid), instead of
    // one per line; a line that starts in an earlier read is checked on its own.
    const firstNl = buf.indexOf(LF);
    const lastNl = buf.lastIndexOf(LF);
    const bulkFrom = carryLen === 0 ? 0 : firstNl + 1;
    const bulkUtf8 = lastNl > bulkFrom && isUtf8(buf.subarray(bulkFrom, lastNl));
    for (let nl = firstNl; nl !== -1; nl = buf.indexOf(LF, pos)) {
      const length = carryLen + (nl - pos);
      let raw: Buffer | null = null;
      if (!overLong) raw = carryLen === 0 ? buf.subarray(pos, nl) : Buffer.concat([...carry, buf.subarray(pos, nl)]);
      finishLine(raw, length, bulkUtf8 && carryLen === 0, true);
      offset += 1;
      carry = [];
      carryLen = 0;
      overLong = false;
      pos = nl + 1;
    }
    if (pos < buf.length) {
      carryLen += buf.length - pos;
      if (!overLong) carry.push(buf.subarray(pos));
      // Past the limit the line is only counted, so memory stays bounded whatever the input.
      if (carryLen > maxLineBytes) {
        overLong = true;
        carry = [];
      }
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  if (carryLen > 0) finishLine(overLong ? null : Buffer.concat(carry), carryLen, false, false);
  if (out.length > 0) yield out;
}

/**
 * Asks the source for its next piece before the current one is handed on, so the next read is
 * under way while this one's lines are processed: with one read in flight, a planning run spent
 * ~15% of its time waiting for reads on a busy machine.
 */
async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  let done = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      // Its failure surfaces at the await above; until then it must not count as unhandled.
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    // Stopped early (the consumer broke off, or a read failed): release the source.
    if (!done) await it.return?.();
  }
}

/** The same as {@link readJsonlBatches}, one item at a time. */
export async function* readJsonl(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadJsonlOptions = {},
): AsyncGenerator<JsonlItem> {
  for await (const batch of readJsonlBatches(source, options)) yield* batch;
}
