// S3 reads (src/storage/s3-storage.ts `openRead`) on a real MinIO server: the body reaches the
// reader as the socket delivers it, with no second copy of its bytes. A copy of every byte read
// is garbage that V8 frees only in full GCs; at 1,000,000 requests it cost the S3 stages tens of
// MB of peak RSS (bench/README.md, s3-job, session 8).
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../src/storage/index.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

const MiB = 1 << 20;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3('read');
});
afterAll(async () => {
  await s3.close();
});

const ALLOCATORS = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const;

/** Runs `fn` while counting the bytes JS code asks Buffer to allocate (Node's socket reads are not counted). */
async function countBufferAllocations(fn: () => Promise<void>): Promise<number> {
  const saved = ALLOCATORS.map((name) => Object.getOwnPropertyDescriptor(Buffer, name));
  let bytes = 0;
  for (const name of ALLOCATORS) {
    const original = Reflect.get(Buffer, name) as (...args: unknown[]) => Buffer;
    Reflect.set(Buffer, name, (...args: unknown[]): Buffer => {
      const out = original.apply(Buffer, args);
      bytes += out.length;
      return out;
    });
  }
  try {
    await fn();
  } finally {
    ALLOCATORS.forEach((name, i) => Object.defineProperty(Buffer, name, saved[i] as PropertyDescriptor));
  }
  return bytes;
}

describe('S3 reads', () => {
  it('openRead hands on the body without a second copy of its bytes', async () => {
    const size = 24 * MiB + 7;
    const body = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 12)) & 0xff;
    const key = 'read/blob.bin';
    await s3.admin.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, ContentLength: body.length }));
    const storage = new S3Storage(s3.root());
    try {
      const h = createHash('sha256');
      let read = 0;
      const allocated = await countBufferAllocations(async () => {
        for await (const piece of await storage.openRead(`s3://${s3.bucket}/${key}`)) {
          read += piece.length;
          h.update(piece);
        }
      });
      expect(read).toBe(size);
      expect(h.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
      // Joining the socket's 64 KiB pieces into 256 KiB ones allocated `size` bytes here.
      expect(allocated).toBeLessThan(MiB);
    } finally {
      storage.destroy();
    }
  });
});
