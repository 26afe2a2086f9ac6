// Decoding of COPY text output (`COPY ... TO STDOUT`) for the export's COPY path: fields, NULLs,
// every escape, multi-byte text, and rows cut anywhere between the stream's pieces.
import { describe, expect, it } from 'vitest';
import { copyTextRows } from '../../src/pipeline/copy-text.ts';

async function rows(pieces: (string | Buffer)[], columns: number): Promise<(string | null)[][]> {
  const source = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  const out: (string | null)[][] = [];
  for await (const batch of copyTextRows(source, columns)) out.push(...batch);
  return out;
}

const TEXT = [
  '1\tplain\t\\N\n',
  '2\ttab\\there, newline\\nand\\rreturn\t\\\\N is not null\n',
  '3\tbackslash \\\\ and \\b\\f\\v\t\n',
  '4\t\\101\\x42\\x4a\\7 octal and hex\té 😀 ü\n',
  '5\t\\N\t\\\\\n',
];
const EXPECTED = [
  ['1', 'plain', null],
  ['2', 'tab\there, newline\nand\rreturn', '\\N is not null'],
  ['3', 'backslash \\ and \b\f\v', ''],
  ['4', 'ABJ\x07 octal and hex', 'é 😀 ü'],
  ['5', null, '\\'],
];

describe('copyTextRows', () => {
  it('decodes fields, NULLs and escapes', async () => {
    expect(await rows([TEXT.join('')], 3)).toEqual(EXPECTED);
  });

  it('joins rows cut at every byte between pieces', async () => {
    const all = Buffer.from(TEXT.join(''));
    for (let cut = 1; cut < all.length; cut++)
      expect(await rows([all.subarray(0, cut), all.subarray(cut)], 3)).toEqual(EXPECTED);
    const bytes = [...all].map((b) => Buffer.from([b]));
    expect(await rows(bytes, 3)).toEqual(EXPECTED);
  });

  it('refuses a row with another number of fields, and output ending inside a row', async () => {
    await expect(rows(['1\ta\n2\tb\tc\n'], 2)).rejects.toThrow('a COPY row has 3 fields, expected 2');
    await expect(rows(['1\n'], 2)).rejects.toThrow('a COPY row has 1 fields, expected 2');
    await expect(rows(['1\ta\n2\tb'], 2)).rejects.toThrow('COPY output ended inside a row');
  });

  it('reads one column, and empty output', async () => {
    expect(await rows(['a\n\\N\n\n'], 1)).toEqual([['a'], [null], ['']]);
    expect(await rows([], 1)).toEqual([]);
  });
});
