// The S3 backend's own multipart upload (src/storage/s3-upload.ts) on a real MinIO server: part
// buffers are reused without mixing files' bytes, memory is bounded by the buffers it holds, and a
// part the server refuses ends the write at once with nothing left behind.
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../src/storage/index.ts';
import { PartPool, uploadStream } from '../../src/storage/s3-upload.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

const MiB = 1 << 20;
const PART = 5 * MiB;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3('upload');
});
afterAll(async () => {
  await s3.close();
});

/** `total` bytes that differ per file and per offset, in 64 KiB pieces (odd sizes on purpose). */
async function* pattern(seed: number, total: number): AsyncGenerator<Buffer> {
  let sent = 0;
  while (sent < total) {
    const n = Math.min(65_537, total - sent);
    const piece = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) piece[i] = (seed * 31 + ((sent + i) >> 10)) & 0xff;
    sent += n;
    await new Promise((r) => setImmediate(r));
    yield piece;
  }
}

async function digestOf(source: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of source) h.update(piece);
  return h.digest('hex');
}

async function objectDigest(key: string): Promise<string> {
  const out = await s3.admin.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return await digestOf(out.Body as AsyncIterable<Buffer>);
}

describe('S3 multipart upload with reused part buffers', () => {
  it('concurrent writes through one storage keep each file its own bytes', async () => {
    const storage = new S3Storage(s3.root('mix'), { partBytes: PART, queueSize: 2 });
    try {
      const sizes = [17 * MiB + 3, 12 * MiB, 5 * MiB, 3 * MiB + 1, 0];
      const uris = sizes.map((_, i) => storage.jobUri('job', `f${i}.bin`));
      const written = await Promise.all(sizes.map((n, i) => storage.writeAtomic(uris[i] as string, pattern(i, n))));
      expect(written.map((w) => w.bytes)).toEqual(sizes);
      for (const [i, n] of sizes.entries()) {
        expect(await digestOf(await storage.openRead(uris[i] as string))).toBe(await digestOf(pattern(i, n)));
        expect(await storage.size(uris[i] as string)).toBe(n);
      }
      // A second round through the same storage reuses the first round's buffers.
      await Promise.all(sizes.map((n, i) => storage.writeAtomic(uris[i] as string, pattern(i + 10, n))));
      for (const [i, n] of sizes.entries()) {
        expect(await digestOf(await storage.openRead(uris[i] as string))).toBe(await digestOf(pattern(i + 10, n)));
      }
      expect(await s3.pendingUploads('mix')).toEqual([]);
    } finally {
      storage.destroy();
    }
  });

  it('a 40 MiB write holds at most queueSize + 1 part buffers, and the next write allocates none', async () => {
    const pool = new PartPool(PART, 3);
    const target = { client: s3.admin, bucket: s3.bucket, pool, queueSize: 2 };
    const bytes = await uploadStream({ ...target, key: 'bounded/a.bin' }, pattern(1, 40 * MiB));
    expect(bytes).toBe(40 * MiB);
    expect(pool.allocated).toBeLessThanOrEqual(3);
    const before = pool.allocated;
    await uploadStream({ ...target, key: 'bounded/b.bin' }, pattern(2, 40 * MiB));
    expect(pool.allocated).toBe(before);
    expect(await objectDigest('bounded/a.bin')).toBe(await digestOf(pattern(1, 40 * MiB)));
    expect(await objectDigest('bounded/b.bin')).toBe(await digestOf(pattern(2, 40 * MiB)));
  });

  it('a part the server refuses ends the write at once, though the source never ends, and leaves no upload', async () => {
    const pool = new PartPool(PART, 3);
    const key = 'refused/endless.bin';
    let piecesRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      const piece = Buffer.alloc(256 * 1024, 'x');
      for (;;) {
        piecesRead++;
        // Once two parts are under way, abort the upload behind the writer's back: its next
        // UploadPart is refused (NoSuchUpload).
        if (piecesRead === 45) {
          const listed = await s3.admin.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
          for (const u of listed.Uploads ?? []) {
            if (u.Key === key) {
              await s3.admin.send(
                new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId: u.UploadId }),
              );
            }
          }
        }
        await new Promise((r) => setImmediate(r));
        yield piece;
      }
    }
    const write = uploadStream({ client: s3.admin, bucket: s3.bucket, key, pool, queueSize: 2 }, endless());
    await expect(write).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await s3.pendingUploads('refused')).toEqual([]);
    await expect(objectDigest(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
    // Every buffer came back: the next write allocates nothing new.
    const allocated = pool.allocated;
    await uploadStream(
      { client: s3.admin, bucket: s3.bucket, key: 'refused/after.bin', pool, queueSize: 2 },
      pattern(3, 12 * MiB),
    );
    expect(pool.allocated).toBe(allocated);
  });
});
