import { describe, expect, it } from 'vitest';
import { readJsonl, type JsonlItem } from '../../src/jsonl/index.ts';

async function collect(bytes: Buffer | string, pieceSize = 3, maxLineBytes?: number): Promise<JsonlItem[]> {
  const buf = Buffer.from(bytes);
  async function* pieces(): AsyncGenerator<Buffer> {
    // Small pieces put line ends and multi-byte characters across read boundaries.
    for (let i = 0; i < buf.length; i += pieceSize) yield await Promise.resolve(buf.subarray(i, i + pieceSize));
  }
  const out: JsonlItem[] = [];
  for await (const item of readJsonl(pieces(), maxLineBytes ? { maxLineBytes } : {})) out.push(item);
  return out;
}

const summary = (items: JsonlItem[]) => items.map((i) => (i.kind === 'line' ? [i.lineNumber, i.offset, i.text] : [i.kind, i.lineNumber, i.offset, i.bytes]));

describe('JSONL reader', () => {
  it('yields line numbers and byte offsets for LF and CRLF, skipping blank lines', async () => {
    const items = await collect('{"a":1}\r\n\r\n  \n{"é":2}\n{"c":3}');
    expect(summary(items)).toEqual([
      [1, 0, '{"a":1}'],
      [4, 14, '{"é":2}'],
      [5, 23, '{"c":3}'],
    ]);
  });

  it('reports a UTF-8 BOM and strips it from line 1', async () => {
    const items = await collect(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]), 64);
    expect(summary(items)).toEqual([
      ['bom', 1, 0, 3],
      [1, 3, '{"a":1}'],
    ]);
  });

  it('reports invalid UTF-8 by line instead of decoding it to replacement characters', async () => {
    const items = await collect(Buffer.concat([Buffer.from('{"a":1}\n{"b":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"c":3}\n')]));
    expect(summary(items)).toEqual([
      [1, 0, '{"a":1}'],
      ['invalid_utf8', 2, 8, 10],
      [3, 19, '{"c":3}'],
    ]);
  });

  it('reports an over-long line without buffering it and keeps counting lines after it', async () => {
    const long = `{"x":"${'y'.repeat(100)}"}`;
    const items = await collect(`{"a":1}\n${long}\n{"b":2}\n`, 7, 50);
    expect(summary(items)).toEqual([
      [1, 0, '{"a":1}'],
      ['line_too_long', 2, 8, long.length],
      [3, 9 + long.length, '{"b":2}'],
    ]);
  });
});
