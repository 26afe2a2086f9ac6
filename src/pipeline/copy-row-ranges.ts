/**
 * COPY text output (see copy-text.ts) split into rows without decoding the rows that need none: a
 * row whose bytes hold no backslash (so no COPY escape and no NULL), no quote and no control byte
 * (nothing JSON escapes), in valid UTF-8, is handed on as byte ranges of the piece it sits in, so
 * the export can copy its fields into a request line as they are. Any other row is decoded as
 * `copyTextRows` decodes it. Finding those bytes costs one `indexOf` (memchr) per byte value and
 * piece, not a test per field: the export's hottest loop then allocates nothing per row.
 */
import { isUtf8 } from 'node:buffer';
import { field, fieldCount } from './copy-text.ts';

/** What the rows of `splitCopyRows` are handed to. */
export interface CopyRowSink {
  /** A row as bytes: field i is `buf[starts[i], ends[i])` (reused by the next row: read them now). */
  plain(buf: Buffer, starts: Int32Array, ends: Int32Array): void;
  /** A row with escapes, quotes, control bytes or NULLs: its fields decoded (null for NULL). */
  decoded(values: (string | null)[]): void;
}

const LF = 0x0a;
const TAB = 0x09;
// The bytes a plain row must not hold: the quote and the backslash, and every control byte except
// the tab and the newline (which COPY writes only between fields and rows).
const SPECIAL: readonly number[] = [
  0x22,
  0x5c,
  ...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== TAB && c !== LF),
];

/**
 * Splits the stream into rows of `columns` fields for `sink`, yielding the number of rows after each
 * piece (a row cut between pieces is completed by the next). Throws on a row with another number of
 * fields or output that ends inside a row, as `copyTextRows` does.
 */
export async function* splitCopyRows(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  columns: number,
  sink: CopyRowSink,
): AsyncGenerator<number> {
  const starts = new Int32Array(columns);
  const ends = new Int32Array(columns);
  const next = new Float64Array(SPECIAL.length);
  let pending: Buffer[] = [];

  /** Rows of `buf[from, to)` (`to` just past a newline); returns how many. */
  function rowsOf(buf: Buffer, from: number, to: number): number {
    // Whole pieces are valid UTF-8 or not; fields split at ASCII bytes, so each is valid when all are.
    const valid = isUtf8(from === 0 && to === buf.length ? buf : buf.subarray(from, to));
    let nearest = Infinity;
    for (let v = 0; v < SPECIAL.length; v++) {
      const at = valid ? buf.indexOf(SPECIAL[v]!, from) : from;
      next[v] = at === -1 || at >= to ? Infinity : at;
      if (next[v]! < nearest) nearest = next[v]!;
    }
    let count = 0;
    // The next tab at or after the field being read: the search past a row's last tab finds the
    // next row's first one, so each tab and newline is searched for once.
    let tab = buf.indexOf(TAB, from);
    for (let start = from; start < to; count++) {
      const nl = buf.indexOf(LF, start);
      let at = start;
      for (let i = 0; i < columns - 1; i++) {
        if (tab === -1 || tab > nl) throw fieldCount(buf, start, nl, columns);
        starts[i] = at;
        ends[i] = tab;
        at = tab + 1;
        tab = buf.indexOf(TAB, at);
      }
      if (tab !== -1 && tab < nl) throw fieldCount(buf, start, nl, columns);
      starts[columns - 1] = at;
      ends[columns - 1] = nl;
      if (nearest > nl) sink.plain(buf, starts, ends);
      else {
        const values = new Array<string | null>(columns);
        for (let i = 0; i < columns; i++) values[i] = field(buf, starts[i]!, ends[i]!);
        sink.decoded(values);
        if (valid) {
          nearest = Infinity;
          for (let v = 0; v < SPECIAL.length; v++) {
            if (next[v]! < nl) {
              const again = buf.indexOf(SPECIAL[v]!, nl);
              next[v] = again === -1 || again >= to ? Infinity : again;
            }
            if (next[v]! < nearest) nearest = next[v]!;
          }
        }
      }
      start = nl + 1;
    }
    return count;
  }

  for await (const piece of source) {
    let from = 0;
    if (pending.length > 0) {
      // Complete the row cut at the end of the last piece on its own: the rest of this piece is
      // then read in place (not copied behind the leftover).
      const nl = piece.indexOf(LF);
      if (nl === -1) {
        pending.push(piece);
        continue;
      }
      const row = Buffer.concat([...pending, piece.subarray(0, nl + 1)]);
      pending = [];
      rowsOf(row, 0, row.length);
      from = nl + 1;
      yield 1 + (from < piece.length ? emit(piece, from) : 0);
      continue;
    }
    yield emit(piece, from);
  }
  if (pending.length > 0) throw new Error('COPY output ended inside a row (no final newline)');

  /** The complete rows of `piece` from `from`; the cut row at its end waits in `pending`. */
  function emit(piece: Buffer, from: number): number {
    const last = piece.lastIndexOf(LF);
    if (last < from) {
      pending.push(piece.subarray(from));
      return 0;
    }
    if (last + 1 < piece.length) pending.push(piece.subarray(last + 1));
    return rowsOf(piece, from, last + 1);
  }
}
