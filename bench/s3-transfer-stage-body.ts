import { parseJsonLines } from './json-lines-yardstick.ts';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readJsonlRawBatches } from '../src/jsonl/index.ts';
import { planJob } from '../src/plan/index.ts';
import { S3Storage } from '../src/storage/s3-storage.ts';

/**
 * One phase of `s3-transfer.bench.ts` in its own process, so that its peak RSS (maxRSS, process
 * start and modules included) is its own: `node bench/s3-transfer-stage.ts <phase> <file> <root>`,
 * with the endpoint and credentials in the environment. `idle` loads the same modules and moves
 * nothing, for the floor; `plan` plans the job whose input `put-requests` stored, `get-parse` is
 * its yardstick (a raw GetObject, every line JSON.parsed, nothing else). Prints one JSON line.
 */
const [phase, file, root] = process.argv.slice(2);
if (!phase || !file || !root) throw new Error('usage: s3-transfer-stage.ts <phase> <file> <root>');
const bucket = root.slice('s3://'.length).split('/')[0] ?? '';
const bytes = (await stat(file)).size;
const storage = new S3Storage(root);
const raw = new S3Client({
  endpoint: process.env['OPENAI_BATCH_S3_ENDPOINT'] ?? '',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const uri = storage.jobUri('job', 'r1', 'c0', 'input.jsonl');
const rawKey = `${uri.slice(`s3://${bucket}/`.length)}.raw`;
const requestsUri = storage.jobUri('plan', 'input.jsonl');

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const part of stream) n += part.byteLength;
  return n;
}

/** Counts the bytes of `source`'s pieces on their way through. */
async function* counted(source: AsyncIterable<Buffer>, total: { n: number }): AsyncGenerator<Buffer> {
  for await (const piece of source) {
    total.n += piece.byteLength;
    yield piece;
  }
}

/** The pieces of `source` joined into pieces of at least `size` bytes (what openRead did before session 8). */
async function* joined(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const piece of source) {
    held.push(piece);
    heldBytes += piece.byteLength;
    if (heldBytes >= size) {
      yield Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

/** Splits `source` into JSONL lines as the stages' readers do; returns the bytes read. */
async function lines(source: AsyncIterable<Buffer>): Promise<number> {
  const total = { n: 0 };
  let seen = 0;
  for await (const batch of readJsonlRawBatches(counted(source, total))) seen += batch.length;
  if (seen === 0) throw new Error('no lines read');
  return total.n;
}

const phases: Record<string, () => Promise<number>> = {
  idle: () => Promise.resolve(bytes),
  'raw-put': async () => {
    const Body = createReadStream(file);
    await raw.send(new PutObjectCommand({ Bucket: bucket, Key: rawKey, Body, ContentLength: bytes }));
    return bytes;
  },
  'write-atomic': async () => (await storage.writeAtomic(uri, createReadStream(file))).bytes,
  'raw-get': async () => {
    const out = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: rawKey }));
    return await drain(out.Body as Readable);
  },
  'open-read': async () => await drain(await storage.openRead(uri)),
  // The CPU cost of the socket's 64 KiB pieces for a line reader, against the same body joined
  // into 256 KiB pieces first (one more copy of every byte, fewer pieces).
  'open-read-lines': async () => await lines(await storage.openRead(uri)),
  'open-read-joined-lines': async () => await lines(joined(await storage.openRead(uri), 256 << 10)),
  'put-requests': async () => (await storage.writeAtomic(requestsUri, createReadStream(file))).bytes,
  plan: async () => {
    await planJob({ jobId: 'plan', inputUri: requestsUri, endpoint: '/v1/chat/completions' }, storage);
    return bytes;
  },
  'get-parse': async () => {
    const out = await raw.send(
      new GetObjectCommand({ Bucket: bucket, Key: requestsUri.slice(`s3://${bucket}/`.length) }),
    );
    return await parseJsonLines(out.Body as AsyncIterable<Buffer>);
  },
};
const work = phases[phase];
if (!work) throw new Error(`unknown phase ${phase}; one of ${Object.keys(phases).join(', ')}`);
const cpu0 = process.cpuUsage();
const started = performance.now();
const moved = await work();
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
if (moved !== bytes) throw new Error(`${phase}: moved ${moved} bytes, expected ${bytes}`);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ phase, bytes, ms, cpuMs, peakRssMb }));
raw.destroy();
storage.destroy();
