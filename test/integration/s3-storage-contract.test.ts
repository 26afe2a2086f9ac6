// The storage contract, run on both backends: the local directory and a real MinIO server.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, S3Storage, StorageError, type BlobStorage } from '../../src/storage/index.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

const MiB = 1 << 20;

interface Backend {
  storage: BlobStorage;
  /** Anything a failed write may have left behind: temporary files, pending multipart uploads. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

let s3: TestS3 | undefined;
beforeAll(async () => {
  s3 = await startTestS3('contract');
});
afterAll(async () => {
  await s3?.close();
});

const backends: Record<string, () => Promise<Backend>> = {
  file: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'contract-'));
    return {
      storage: openStorage(dir),
      leftovers: async () => await readdir(dir, { recursive: true }),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
  s3: () => {
    if (!s3) throw new Error('MinIO did not start');
    const prefix = `p${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    // The smallest part S3 allows, so that a 12 MiB write is a real three-part upload.
    const storage = new S3Storage(s3.root(prefix), { partBytes: 5 * MiB, queueSize: 2 });
    const server = s3;
    return Promise.resolve({
      storage,
      leftovers: async () => [
        ...(await storage.list(storage.rootUri)),
        ...(await server.pendingUploads(prefix)).map((k) => `pending upload ${k}`),
      ],
      close: () => Promise.resolve(storage.destroy()),
    });
  },
};

async function* pieces(...parts: string[]): AsyncGenerator<string> {
  for (const p of parts) yield await Promise.resolve(p);
}

/** `total` bytes of one letter, in 256 KiB pieces, yielding to the event loop between pieces. */
async function* filled(letter: string, total: number): AsyncGenerator<Buffer> {
  const piece = Buffer.alloc(256 * 1024, letter);
  for (let sent = 0; sent < total; sent += piece.length) {
    await new Promise((r) => setImmediate(r));
    yield piece.subarray(0, Math.min(piece.length, total - sent));
  }
}

async function readAll(storage: BlobStorage, uri: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await storage.openRead(uri)) parts.push(part);
  return Buffer.concat(parts);
}

/** "a x 6291456": what a whole file of one letter is, or "mixed" for a torn one. */
function shape(buf: Buffer): string {
  const first = buf.length > 0 ? String.fromCharCode(buf[0] ?? 0) : '';
  const uniform = buf.length > 0 && buf.every((b) => b === buf[0]);
  return uniform ? `${first} x ${buf.length}` : buf.length === 0 ? 'empty' : 'mixed';
}

for (const [name, open] of Object.entries(backends)) {
  describe(`storage contract: ${name}`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await open();
    });
    afterAll(async () => {
      await b?.close();
    });

    it('writes, reads back, sizes, lists and deletes job files; a folder lists only itself', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-1', 'r1', 'c0', 'input.jsonl');
      expect(uri).toBe(`${storage.rootUri}/job-1/r1/c0/input.jsonl`);
      expect(await storage.writeAtomic(uri, pieces('a\n', 'bc\n'))).toEqual({ uri, bytes: 5 });
      expect((await readAll(storage, uri)).toString()).toBe('a\nbc\n');
      expect(await storage.exists(uri)).toBe(true);
      expect(await storage.size(uri)).toBe(5);
      await storage.writeAtomic(storage.jobUri('job-1', 'r10', 'c0', 'input.jsonl'), pieces('x'));
      await storage.writeAtomic(storage.jobUri('job-1', 'report.json'), pieces('{}'));
      await storage.writeAtomic(storage.jobUri('job-1', 'empty.jsonl'), pieces());
      expect(await storage.size(storage.jobUri('job-1', 'empty.jsonl'))).toBe(0);
      expect(await storage.list(storage.jobUri('job-1', 'r1'))).toEqual([uri]);
      expect(await storage.list(storage.jobUri('job-1', 'rep'))).toEqual([storage.jobUri('job-1', 'report.json')]);
      expect(await storage.list(storage.jobUri('job-1'))).toEqual([
        storage.jobUri('job-1', 'empty.jsonl'),
        uri,
        storage.jobUri('job-1', 'r10', 'c0', 'input.jsonl'),
        storage.jobUri('job-1', 'report.json'),
      ]);
      await storage.delete(uri);
      expect(await storage.exists(uri)).toBe(false);
      await expect(storage.delete(uri)).resolves.toBeUndefined();
      expect(await storage.list(storage.jobUri('job-none'))).toEqual([]);
    });

    it('readers during an overwrite see the whole old file or the whole new one, never a part', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-atomic', 'results.jsonl');
      await storage.writeAtomic(uri, filled('a', 6 * MiB));
      let writing = true;
      const seen = new Map<string, number>();
      const reader = (async () => {
        while (writing) {
          const s = shape(await readAll(storage, uri));
          seen.set(s, (seen.get(s) ?? 0) + 1);
        }
      })();
      const written = await storage.writeAtomic(uri, filled('b', 12 * MiB));
      writing = false;
      await reader;
      expect(written.bytes).toBe(12 * MiB);
      expect(shape(await readAll(storage, uri))).toBe(`b x ${12 * MiB}`);
      expect(
        [...seen.keys()].every((k) => k === `a x ${6 * MiB}` || k === `b x ${12 * MiB}`),
        [...seen.keys()].join(),
      ).toBe(true);
      expect(seen.get(`a x ${6 * MiB}`)).toBeGreaterThan(0);
    });

    it('a source that fails after several parts leaves nothing: no file, no temporary copy, no pending upload', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-broken', 'r1', 'c0', 'input.jsonl');
      async function* failing(): AsyncGenerator<Buffer> {
        yield* filled('x', 11 * MiB);
        throw new Error('network dropped');
      }
      await expect(storage.writeAtomic(uri, failing())).rejects.toThrow('network dropped');
      expect(await storage.exists(uri)).toBe(false);
      expect((await b.leftovers()).filter((f) => f.includes('job-broken'))).toEqual([]);
    });

    it('a failed overwrite keeps the old file whole', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-keep', 'report.json');
      await storage.writeAtomic(uri, pieces('{"old":true}'));
      async function* failing(): AsyncGenerator<Buffer> {
        yield* filled('y', 6 * MiB);
        throw new Error('disk on fire');
      }
      await expect(storage.writeAtomic(uri, failing())).rejects.toThrow('disk on fire');
      expect((await readAll(storage, uri)).toString()).toBe('{"old":true}');
    });

    it('lists past 1,000 files (S3 pages at 1,000 keys)', async () => {
      const { storage } = b;
      const uris = Array.from({ length: 1_050 }, (_, i) =>
        storage.jobUri('job-many', `f${String(i).padStart(4, '0')}`),
      );
      for (let i = 0; i < uris.length; i += 50) {
        await Promise.all(uris.slice(i, i + 50).map((u) => storage.writeAtomic(u, pieces('1'))));
      }
      const listed = await storage.list(storage.jobUri('job-many'));
      expect(listed).toHaveLength(1_050);
      expect(listed).toEqual(uris);
    });

    it('a missing file is a StorageError naming its URI; exists says false', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-missing', 'input.jsonl');
      expect(await storage.exists(uri)).toBe(false);
      const read = await storage.openRead(uri).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(StorageError);
      expect((read as Error).message).toContain(uri);
      expect((read as Error).message).toMatch(/does not exist/);
      await expect(storage.size(uri)).rejects.toBeInstanceOf(StorageError);
    });

    it('a slice reads its bytes of the file; once the file is written again it is refused, naming the fix', async () => {
      const { storage } = b;
      const uri = storage.jobUri('job-slice', 'input.jsonl');
      // Three parts on S3, so that a slice crosses part boundaries.
      const body = Buffer.concat([Buffer.from('head\n'), Buffer.alloc(12 * MiB, 'm'), Buffer.from('\ntail\n')]);
      await storage.writeAtomic(uri, pieces(body.toString()));
      const version = await storage.version(uri);
      const cuts: [number, number][] = [
        [0, 5],
        [3, 5 * MiB + 7],
        [body.length - 5, 5],
        [7, 0],
      ];
      for (const [offset, length] of cuts) {
        const slice = storage.sliceUri(uri, version, offset, length);
        expect(slice.startsWith(`${storage.rootUri}/job-slice/input.jsonl/@slice/`)).toBe(true);
        expect((await readAll(storage, slice)).equals(body.subarray(offset, offset + length))).toBe(true);
        expect(await storage.size(slice)).toBe(length);
        expect(await storage.exists(slice)).toBe(true);
      }
      const slice = storage.sliceUri(uri, version, 0, 5);
      // A slice owns no bytes: deleting it leaves the file, and it cannot be written.
      await storage.delete(slice);
      expect(await storage.size(uri)).toBe(body.length);
      await expect(storage.writeAtomic(slice, pieces('x'))).rejects.toBeInstanceOf(StorageError);
      // Written again (same length, other bytes): the slice is refused, never a mix of versions.
      await storage.writeAtomic(uri, pieces(body.toString().replace('head', 'HEAD')));
      expect(await storage.version(uri)).not.toBe(version);
      expect(await storage.exists(slice)).toBe(false);
      for (const read of [() => storage.openRead(slice), () => storage.size(slice)]) {
        const err = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageError);
        expect((err as Error).message).toMatch(/job-slice\/input\.jsonl" was written again after the job was planned/);
      }
      // A copy within the storage: its own version, the same bytes, sliced like any file.
      const copy = storage.jobUri('job-slice', 'copy.jsonl');
      const copyVersion = await storage.copyWithin(uri, copy);
      expect(copyVersion).toBe(await storage.version(copy));
      expect((await readAll(storage, copy)).toString()).toBe(body.toString().replace('head', 'HEAD'));
      expect((await readAll(storage, storage.sliceUri(copy, copyVersion, 0, 5))).toString()).toBe('HEAD\n');
      await expect(storage.copyWithin(storage.jobUri('job-slice', 'none.jsonl'), copy)).rejects.toBeInstanceOf(
        StorageError,
      );
      // A conditional copy: only of the version asked for, else refused (and the old copy stays).
      const current = await storage.version(uri);
      const pinned = storage.jobUri('job-slice', 'pinned.jsonl');
      expect(await storage.copyWithin(uri, pinned, current)).toBe(await storage.version(pinned));
      const refused = await storage.copyWithin(uri, copy, version).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toMatch(/job-slice\/input\.jsonl" was written again/);
      expect(await storage.version(copy)).toBe(copyVersion);
      await expect(storage.version(storage.jobUri('job-slice', 'none.jsonl'))).rejects.toBeInstanceOf(StorageError);
    });

    it('refuses URIs outside the root before any I/O', async () => {
      const { storage } = b;
      await expect(storage.openRead(`${storage.rootUri}/job/../../escape.txt`)).rejects.toBeInstanceOf(StorageError);
      await expect(storage.writeAtomic('../outside.jsonl', pieces('x'))).rejects.toBeInstanceOf(StorageError);
      expect(() => storage.jobUri('..', 'x')).toThrow(StorageError);
      expect(() => storage.jobUri('job', '../x')).toThrow(/one path segment/);
    });
  });
}
