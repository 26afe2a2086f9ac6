import { mkdir, symlink, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, StorageError, type BlobStorage, type FileStorage } from '../../src/storage/index.ts';
import { readUri, tempStorage } from './plan-fixtures.ts';

let dir: string;
let storage: BlobStorage;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
afterEach(() => cleanup());

async function* pieces(...parts: string[]): AsyncGenerator<string> {
  for (const p of parts) yield await Promise.resolve(p);
}

describe('file storage', () => {
  it('writes atomically, reads back, lists, sizes and deletes job files', async () => {
    const uri = storage.jobUri('job-1', 'r0', 'c0', 'input.jsonl');
    expect(uri).toBe(`${storage.rootUri}/job-1/r0/c0/input.jsonl`);
    const written = await storage.writeAtomic(uri, pieces('a\n', 'bc\n'));
    expect(written).toEqual({ uri, bytes: 5 });
    expect(await readUri(uri)).toBe('a\nbc\n');
    expect(await storage.exists(uri)).toBe(true);
    expect(await storage.size(uri)).toBe(5);
    await storage.writeAtomic(storage.jobUri('job-1', 'report.json'), pieces('{}'));
    expect(await storage.list(storage.jobUri('job-1'))).toEqual([
      storage.jobUri('job-1', 'r0/c0/input.jsonl'),
      storage.jobUri('job-1', 'report.json'),
    ]);
    expect(await storage.list(storage.jobUri('job-1', 'rep'))).toEqual([storage.jobUri('job-1', 'report.json')]);
    await storage.delete(uri);
    expect(await storage.exists(uri)).toBe(false);
    await expect(storage.delete(uri)).resolves.toBeUndefined();
  });

  it('copies a local file in by the kernel, atomically; a missing source leaves no folder or copy', async () => {
    const source = path.join(dir, 'source.jsonl');
    await writeFile(source, 'x'.repeat(300_000) + '\n');
    const files = storage as FileStorage;
    const uri = files.jobUri('job-c', 'input.jsonl');
    expect(await files.copyFileAtomic(uri, source)).toEqual({ uri, bytes: 300_001 });
    expect(await readUri(uri)).toBe('x'.repeat(300_000) + '\n');
    expect(await readdir(path.join(dir, 'job-c'))).toEqual(['input.jsonl']);
    await expect(files.copyFileAtomic(files.jobUri('job-d', 'input.jsonl'), `${source}.missing`)).rejects.toThrow(
      /ENOENT/,
    );
    expect(await readdir(dir)).not.toContain('job-d');
  });

  it('a source that throws leaves neither the file nor a temporary copy', async () => {
    const uri = storage.jobUri('job-1', 'broken.jsonl');
    async function* failing(): AsyncGenerator<string> {
      yield await Promise.resolve('half a line');
      throw new Error('network dropped');
    }
    await expect(storage.writeAtomic(uri, failing())).rejects.toThrow('network dropped');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a write and a delete in the same folder at once: the delete never pulls the folder from under the write', async () => {
    // delete() prunes folders it empties; a write that made the folder just before must still land.
    for (let i = 0; i < 300; i++) {
      const old = storage.jobUri('job-1', `d${i}`, 'old.jsonl');
      await storage.writeAtomic(old, pieces('x'));
      const fresh = storage.jobUri('job-1', `d${i}`, 'new.jsonl');
      await Promise.all([storage.delete(old), storage.writeAtomic(fresh, pieces('y'))]);
      expect(await readUri(fresh)).toBe('y');
    }
  });

  it('a copy in and a delete in the same folder at once: the delete never pulls the folder from under the copy', async () => {
    const source = path.join(dir, 'source.jsonl');
    await writeFile(source, 'y');
    const files = storage as FileStorage;
    for (let i = 0; i < 300; i++) {
      const old = files.jobUri('job-1', `c${i}`, 'old.jsonl');
      await files.writeAtomic(old, pieces('x'));
      const fresh = files.jobUri('job-1', `c${i}`, 'input.jsonl');
      await Promise.all([files.delete(old), files.copyFileAtomic(fresh, source)]);
      expect(await readUri(fresh)).toBe('y');
    }
  });

  it('accepts a plain path root and relative paths inside it', async () => {
    const viaPath = openStorage(dir);
    await viaPath.writeAtomic('notes/a.txt', pieces('x'));
    expect(await viaPath.exists(`${viaPath.rootUri}/notes/a.txt`)).toBe(true);
    expect(await viaPath.size('notes/a.txt')).toBe(1);
  });

  it('rejects URIs that escape the root with a StorageError naming the root', async () => {
    await expect(storage.openRead('../outside.jsonl')).rejects.toThrow(/outside the storage root/);
    await expect(storage.exists('file:///etc/passwd')).rejects.toBeInstanceOf(StorageError);
    await expect(storage.writeAtomic(`${storage.rootUri}/job/../../escape.txt`, pieces('x'))).rejects.toThrow(
      /outside the storage root/,
    );
    expect(() => storage.jobUri('..', 'x')).toThrow(StorageError);
    expect(() => storage.jobUri('job', '../x')).toThrow(/one path segment/);
    await expect(storage.openRead('s3://bucket/key')).rejects.toThrow(/scheme/);
  });

  it('rejects a symlink that leads out of the root, even for a file that does not exist yet', async () => {
    const outside = path.join(path.dirname(dir), `${path.basename(dir)}-outside`);
    await mkdir(outside, { recursive: true });
    await symlink(outside, path.join(dir, 'link'));
    await expect(storage.writeAtomic('link/new.txt', pieces('x'))).rejects.toThrow(/symlink/);
    await expect(storage.exists('link')).rejects.toThrow(/symlink/);
  });

  it('a write under a file where a folder goes fails as a StorageError naming the path, not a retryable error', async () => {
    await writeFile(path.join(dir, 'job-1'), 'a file, not a folder');
    const uri = storage.jobUri('job-1', 'r1', 'c0', 'input.jsonl');
    const err = await storage.writeAtomic(uri, pieces('x\n')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain('has a file as a parent directory');
    expect((err as StorageError).uri).toBe(uri);
  });

  it('reports a missing file as a StorageError', async () => {
    await expect(storage.openRead('missing.jsonl')).rejects.toThrow(/does not exist/);
    await expect(storage.size('missing.jsonl')).rejects.toBeInstanceOf(StorageError);
  });
});
