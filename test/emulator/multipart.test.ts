import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/tools/emulator/http/api-error.ts';
import { parseMultipart } from '../../src/tools/emulator/http/multipart.ts';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function body(boundary: string, file: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** Feeds the body in chunks of `size` bytes, so delimiters straddle chunk edges. */
function asRequest(data: Buffer, size: number): IncomingMessage {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks) as unknown as IncomingMessage;
}

describe('streaming multipart parser', () => {
  it.each([1, 7, 64, 65_536])('keeps the file byte for byte when the body arrives in %i-byte chunks', async (size) => {
    const dir = await mkdtemp(join(tmpdir(), 'multipart-'));
    dirs.push(dir);
    // Content that contains CRLFs and near-miss boundaries.
    const file = Buffer.from(`{"a":1}\r\n--openai-boundar\r\n--openai-boundary-not\n${'x'.repeat(3000)}\r\n`);
    const result = await parseMultipart(
      asRequest(body('openai-boundary', file), size),
      'openai-boundary',
      join(dir, 'f'),
      1e9,
    );
    expect(result.fields).toEqual({ purpose: 'batch' });
    expect(result.file).toMatchObject({ filename: 'in.jsonl', bytes: file.length });
    expect(await readFile(join(dir, 'f'))).toEqual(file);
  });

  it('refuses a file over the size limit and a body without its closing boundary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'multipart-'));
    dirs.push(dir);
    const big = body('b', Buffer.alloc(5000, 'x'));
    await expect(parseMultipart(asRequest(big, 512), 'b', join(dir, 'a'), 1000)).rejects.toBeInstanceOf(ApiError);
    const cut = big.subarray(0, big.length - 10);
    await expect(parseMultipart(asRequest(cut, 512), 'b', join(dir, 'c'), 1e9)).rejects.toThrow(/closing boundary/);
  });
});
