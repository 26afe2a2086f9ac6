// The S3 backend's own multipart upload (src/storage/s3-upload.ts) on a real MinIO server: part
// buffers are reused without mixing files' bytes, memory is bounded by the buffers it holds, and a
// part the server refuses ends the write at once with nothing left behind.
import { createHash } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** V8's full GC, made reachable without restarting the test process with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
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
      // A second round through the same storage (buffers freed after the first) keeps them apart too.
      await Promise.all(sizes.map((n, i) => storage.writeAtomic(uris[i] as string, pattern(i + 10, n))));
      for (const [i, n] of sizes.entries()) {
        expect(await digestOf(await storage.openRead(uris[i] as string))).toBe(await digestOf(pattern(i + 10, n)));
      }
      expect(await s3.pendingUploads('mix')).toEqual([]);
    } finally {
      storage.destroy();
    }
  });

  it('one write holds at most inFlight + 1 part buffers, two at once inFlight + 2, and an idle pool none', async () => {
    const pool = new PartPool(PART, 2);
    const target = { client: s3.admin, bucket: s3.bucket, pool, payloadSigning: 'auto' as const };
    const bytes = await uploadStream({ ...target, key: 'bounded/a.bin' }, pattern(1, 40 * MiB));
    expect(bytes).toBe(40 * MiB);
    expect(pool.allocated).toBeLessThanOrEqual(3);
    expect([pool.taken, pool.idle]).toEqual([0, 0]);
    // Two at once share the two sending slots: each fills one buffer of its own, and they reuse
    // each other's buffers while both run.
    let before = pool.allocated;
    await Promise.all([
      uploadStream({ ...target, key: 'bounded/b.bin' }, pattern(2, 40 * MiB)),
      uploadStream({ ...target, key: 'bounded/c.bin' }, pattern(3, 40 * MiB)),
    ]);
    expect(pool.allocated - before).toBeLessThanOrEqual(4);
    expect([pool.taken, pool.idle]).toEqual([0, 0]);
    before = pool.allocated;
    await uploadStream({ ...target, key: 'bounded/d.bin' }, pattern(4, 40 * MiB));
    expect(pool.allocated - before).toBeLessThanOrEqual(3);
    for (const [name, seed] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ] as const) {
      expect(await objectDigest(`bounded/${name}.bin`)).toBe(await digestOf(pattern(seed, 40 * MiB)));
    }
  });

  it('the parts of a write reuse kept-alive connections: at most inFlight + 1 sockets for 8 parts', async () => {
    const storage = new S3Storage(s3.root('sockets'), { partBytes: PART, queueSize: 2 });
    let sockets = 0;
    const opened = (): void => {
      sockets++;
    };
    diagnosticsChannel.subscribe('net.client.socket', opened);
    try {
      const uri = storage.jobUri('job', 'a.bin');
      expect((await storage.writeAtomic(uri, pattern(6, 40 * MiB))).bytes).toBe(40 * MiB);
      // The SDK sends a part of 2 MiB or more with `Expect: 100-continue` on a fresh agent without
      // keep-alive: one new connection per part (TCP handshake, and a round trip waiting for
      // "100 Continue", per 5 MiB), 9 sockets here.
      expect(sockets).toBeLessThanOrEqual(3);
      expect(await digestOf(await storage.openRead(uri))).toBe(await digestOf(pattern(6, 40 * MiB)));
    } finally {
      diagnosticsChannel.unsubscribe('net.client.socket', opened);
      storage.destroy();
    }
  });

  it('over http, write bodies are signed by default and sent as UNSIGNED-PAYLOAD when asked; MinIO keeps the same bytes', async () => {
    // What each request carried as its payload hash, read off the request Node sends.
    const hashes: string[] = [];
    const started = ({ request }: { request: { method: string; getHeader(name: string): unknown } }): void => {
      if (request.method === 'PUT') hashes.push(String(request.getHeader('x-amz-content-sha256')));
    };
    diagnosticsChannel.subscribe('http.client.request.start', started as (message: unknown) => void);
    const writeWith = async (setting: string | undefined): Promise<string[]> => {
      hashes.length = 0;
      const env = { ...process.env, OPENAI_BATCH_S3_PAYLOAD_SIGNING: setting };
      const storage = new S3Storage(s3.root(`signing-${setting ?? 'default'}`), { partBytes: PART, env });
      try {
        // One multipart write (3 parts) and one short PutObject.
        for (const [name, size] of [
          ['big.bin', 12 * MiB + 5],
          ['small.bin', 1000],
        ] as const) {
          const uri = storage.jobUri('job', name);
          await storage.writeAtomic(uri, pattern(size, size));
          expect(await digestOf(await storage.openRead(uri))).toBe(await digestOf(pattern(size, size)));
        }
        return [...hashes];
      } finally {
        storage.destroy();
      }
    };
    try {
      // Three parts and the PutObject carry a body; CreateMultipartUpload is a POST.
      const signed = await writeWith(undefined);
      expect(signed).toHaveLength(4);
      for (const h of signed) expect(h).toMatch(/^[0-9a-f]{64}$/);
      expect(await writeWith('signed')).toEqual(signed);
      expect(await writeWith('unsigned')).toEqual(Array(4).fill('UNSIGNED-PAYLOAD'));
    } finally {
      diagnosticsChannel.unsubscribe('http.client.request.start', started as (message: unknown) => void);
    }
  });

  it('a storage whose writes have ended holds no part buffers: their memory is freed', async () => {
    const pool = new PartPool(PART, 2);
    fullGc();
    const before = process.memoryUsage().arrayBuffers;
    await uploadStream(
      { client: s3.admin, bucket: s3.bucket, key: 'idle/a.bin', pool, payloadSigning: 'auto' as const },
      pattern(5, 30 * MiB),
    );
    expect(pool.idle).toBe(0);
    // Keeping inFlight + 1 idle buffers for a next write held 15 MiB here, for as long as the
    // storage lived (a worker's lifetime). The last part's buffer can still be referenced for a
    // moment by the HTTP stack after the write resolves (a loaded CI saw 5 MiB + 2.8 KB), so the
    // memory is given a few turns of the event loop to be freed; kept buffers never are.
    let held = Number.POSITIVE_INFINITY;
    for (let look = 0; look < 20 && held >= PART; look++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      fullGc();
      held = process.memoryUsage().arrayBuffers - before;
    }
    expect(held).toBeLessThan(PART);
    expect(await objectDigest('idle/a.bin')).toBe(await digestOf(pattern(5, 30 * MiB)));
  });

  it('a part the server refuses ends the write at once, though the source never ends, and leaves no upload', async () => {
    const pool = new PartPool(PART, 2);
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
    const write = uploadStream(
      { client: s3.admin, bucket: s3.bucket, key, pool, payloadSigning: 'auto' as const },
      endless(),
    );
    await expect(write).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await s3.pendingUploads('refused')).toEqual([]);
    await expect(objectDigest(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
    // Every buffer came back by the time the write rejected, and none is kept for a next write.
    expect(pool.allocated).toBeGreaterThan(0);
    expect([pool.taken, pool.idle]).toEqual([0, 0]);
  });

  it('a write keeps no piece of its source alive once the piece is copied into a part', async () => {
    const pool = new PartPool(PART, 2);
    const refs: WeakRef<Buffer>[] = [];
    let alive = -1;
    async function* fresh(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 160; i++) {
        if (i === 150) {
          // 37.5 MiB in: the first 100 pieces (25 MiB) are long since copied and sent.
          for (let k = 0; k < 3; k++) {
            fullGc();
            await new Promise((r) => setImmediate(r));
          }
          alive = refs.slice(0, 100).filter((r) => r.deref() !== undefined).length;
        }
        const piece = Buffer.alloc(256 * 1024, i & 0xff);
        refs.push(new WeakRef(piece));
        await new Promise((r) => setImmediate(r));
        yield piece;
      }
    }
    await uploadStream(
      { client: s3.admin, bucket: s3.bucket, key: 'held/pieces.bin', pool, payloadSigning: 'auto' as const },
      fresh(),
    );
    expect(alive).toBe(0);
  });
});
