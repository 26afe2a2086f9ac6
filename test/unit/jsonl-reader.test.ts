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

const summary = (items: JsonlItem[]) =>
  items.map((i) => (i.kind === 'line' ? [i.lineNumber, i.offset, i.text] : [i.kind, i.lineNumber, i.offset, i.bytes]));

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
    const items = await collect(
      Buffer.concat([Buffer.from('{"a":1}\n{"b":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"c":3}\n')]),
    );
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
  it('asks for the next read while a read is processed, and releases the source when the consumer stops', async () => {
    const events: string[] = [];
    async function* pieces(): AsyncGenerator<string> {
      try {
        for (let i = 0; i < 5; i++) {
          events.push(`read ${i}`);
          yield await Promise.resolve(`{"n":${i}}\n`);
        }
      } finally {
        events.push('released');
      }
    }
    for await (const item of readJsonl(pieces())) {
      events.push(`line ${item.lineNumber}`);
      if (item.lineNumber === 2) break;
    }
    expect(events).toEqual(['read 0', 'read 1', 'line 1', 'read 2', 'line 2', 'released']);
  });

  it('surfaces a failing source as an error of the reader', async () => {
    async function* pieces(): AsyncGenerator<string> {
      yield await Promise.resolve('{"a":1}\n');
      throw new Error('disk gone');
    }
    const seen: number[] = [];
    await expect(async () => {
      for await (const item of readJsonl(pieces())) seen.push(item.lineNumber);
    }).rejects.toThrow('disk gone');
    expect(seen).toEqual([1]);
  });
});
