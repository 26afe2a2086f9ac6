// `LineWriter.appendLineRanges` (a line as byte ranges of the caller's buffers, as the spliced
// export writes it) mixed with every other way of appending a line (strings, bytes, parts), over
// many 64 KiB blocks, with lines that do not fit in the rest of a block and lines larger than a
// block (as ranges too): the file must read back byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLineWriter } from '../../src/jsonl/index.ts';
import { FileStorage } from '../../src/storage/index.ts';

describe('openLineWriter.appendLineRanges over FileStorage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'line-writer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes 40 MB of lines appended every way, byte for byte', async () => {
    const storage = new FileStorage(dir);
    const writer = openLineWriter(storage, storage.jobUri('job', 'lines.jsonl'));
    const expected: string[] = [];
    const piece = new Uint8Array(Buffer.from('{"piece":"é😀"}'));
    const empty = new Uint8Array(0);
    for (let i = 0; i < 120_000; i++) {
      const text = `{"i":${i},"pad":"${'x'.repeat(i % 517)}"}`;
      let ok: boolean;
      switch (i % 5) {
        case 0:
          ok = writer.appendLine(text);
          expected.push(text);
          break;
        case 1:
          ok = writer.appendLine(Buffer.from(text));
          expected.push(text);
          break;
        case 2:
          ok = writer.appendLine([text, Buffer.from(piece), 'ü']);
          expected.push(`${text}${Buffer.from(piece).toString()}ü`);
          break;
        case 3: {
          // Now and then a line of ranges larger than a block, and an empty range in each line.
          const body = i % 20_000 === 3 ? 'r'.repeat(200_000) : text;
          const bytes = new Uint8Array(Buffer.from(`<<${body}>>`));
          ok = writer.appendLineRanges([bytes, empty, piece], [2, 0, 0], [bytes.length - 2, 0, piece.length], 3);
          expected.push(`${body}${Buffer.from(piece).toString()}`);
          break;
        }
        default: {
          const big = i % 20_000 === 4 ? 'z'.repeat(300_000) : text;
          ok = writer.appendLine(big);
          expected.push(big);
        }
      }
      if (!ok) await writer.flush();
    }
    const { bytes, lines } = await writer.close();
    const want = expected.join('\n') + '\n';
    expect(lines).toBe(120_000);
    expect(bytes).toBe(Buffer.byteLength(want));
    expect(await readFile(join(dir, 'job', 'lines.jsonl'), 'utf8')).toBe(want);
  });
});
