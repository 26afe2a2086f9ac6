import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { BlobStorage } from './blob-storage.ts';
import { StorageError } from './storage-error.ts';
import { assertSegment, pathToUri, resolveInside, uriToPath } from './resolve-path.ts';
import { formatSliceUri, parseSliceUri, sliceChanged, sliceNotWritable, type Slice } from './slice-uri.ts';

const TMP_MARK = '.tmp-';
/** The size of a file read (see openRead). */
const READ_BYTES = 1 << 16;

/** A temporary file beside `p`, unique to this process and call. */
function tempPath(p: string): string {
  return `${p}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The local-directory backend: `file://` URIs under one root directory. */
export class FileStorage implements BlobStorage {
  readonly rootUri: string;
  readonly #root: string;
  #realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.#root = path.resolve(root);
    this.rootUri = pathToUri(this.#root);
  }

  jobUri(jobId: string, ...parts: string[]): string {
    assertSegment(jobId, 'job id');
    const segments = parts.flatMap((p) => p.split('/'));
    for (const s of segments) assertSegment(s, 'path part');
    return pathToUri(path.join(this.#root, jobId, ...segments));
  }

  async openRead(uri: string): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
    const slice = parseSliceUri(uri);
    if (slice) return await this.#openSlice(uri, slice);
    const p = await this.#resolve(uri);
    // A directory opens fine and fails only at the first read: refuse it here, as a user's mistake.
    const info = await stat(p).catch((err: unknown) => {
      throw this.#wrap(err, uri);
    });
    if (info.isDirectory()) throw this.#wrap(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), uri);
    // 64 KiB reads. A read lives while its lines are processed; with a worker's young generation
    // (1 MiB semi-spaces, boundYoungGeneration) a 256 KiB read outlived two scavenges, was
    // promoted, and was freed only by a mark-compact: a 1 GB plan ran 39 of them and held up to
    // ~50 MB of dead reads (arrayBuffers), which malloc then kept. 64 KiB reads die young: 5
    // mark-compacts, ~8 MB, no more CPU (bench/README.md, worker-rss, session 10).
    const stream = createReadStream(p, { highWaterMark: READ_BYTES });
    // Surface a missing file as a rejected promise, not as a later stream 'error'.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(this.#wrap(err, uri)));
    });
    return stream;
  }

  async writeAtomic(uri: string, source: AsyncIterable<Uint8Array | string>): Promise<{ uri: string; bytes: number }> {
    if (parseSliceUri(uri)) throw sliceNotWritable(uri);
    // A file where a folder of the path goes, or a folder that refuses writes: no retry fixes it.
    const p = await this.#resolve(uri).catch((err: unknown) => {
      throw this.#wrapWrite(err, uri);
    });
    const { tmp, out } = await this.#openTemp(p).catch((err: unknown) => {
      throw this.#wrapWrite(err, uri);
    });
    let bytes = 0;
    try {
      for await (const piece of source) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        bytes += buf.byteLength;
        if (!out.write(buf)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      // A directory where the file goes fails here (EISDIR): named, not retried.
      await rename(tmp, p).catch((err: unknown) => {
        throw this.#wrapWrite(err, uri);
      });
      return { uri: pathToUri(p), bytes };
    } catch (err) {
      // Wait for the stream to close: its open() may still be pending, and a file it creates
      // after rm() would survive as a stray temporary copy (seen on a loaded CI machine).
      if (!out.closed) {
        // Not `once`: a write still in flight fails with "destroyed", which must not replace `err`.
        const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
        out.on('error', () => undefined);
        out.destroy();
        await closed;
      }
      await rm(tmp, { force: true });
      await this.#pruneEmptyParents(p);
      throw err;
    }
  }

  /**
   * Copies a local file to `uri` atomically (a temporary copy, then a rename), by the kernel: no
   * bytes pass through this process. A stream copy of a 1 GB input through `writeAtomic` left
   * ~120 MB of read buffers in the worker's RSS.
   */
  async copyFileAtomic(uri: string, sourcePath: string, mode = 0): Promise<{ uri: string; bytes: number }> {
    const p = await this.#resolve(uri);
    for (let attempt = 1; ; attempt++) {
      const tmp = tempPath(p);
      try {
        await mkdir(path.dirname(p), { recursive: true });
        await copyFile(sourcePath, tmp, mode);
        const { size } = await stat(tmp);
        await rename(tmp, p);
        return { uri: pathToUri(p), bytes: size };
      } catch (err) {
        await rm(tmp, { force: true });
        // The folder pruned between the mkdir and the copy, as in #openTemp: make it again. A
        // missing source is the user's mistake, never retried.
        const sourceThere = await stat(sourcePath).then(
          () => true,
          () => false,
        );
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && sourceThere && attempt < 10) continue;
        await this.#pruneEmptyParents(p);
        throw err;
      }
    }
  }

  /**
   * Makes the folder and opens a temporary file in it. A delete in the same folder may prune the
   * folder (or its parent) between the mkdir and the open: then make it again.
   */
  async #openTemp(p: string): Promise<{ tmp: string; out: WriteStream }> {
    for (let attempt = 1; ; attempt++) {
      const tmp = tempPath(p);
      try {
        await mkdir(path.dirname(p), { recursive: true });
        const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
        await once(out, 'open');
        return { tmp, out };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw err;
      }
    }
  }

  async exists(uri: string): Promise<boolean> {
    const slice = parseSliceUri(uri);
    try {
      const info = await stat(await this.#resolve(slice ? slice.base : uri), { bigint: true });
      return slice ? versionOf(info) === slice.version : true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async size(uri: string): Promise<number> {
    const slice = parseSliceUri(uri);
    if (slice) return (await this.#sliceInfo(uri, slice), slice.length);
    try {
      return (await stat(await this.#resolve(uri))).size;
    } catch (err) {
      throw this.#wrap(err, uri);
    }
  }

  async list(prefixUri: string): Promise<string[]> {
    const prefix = await this.#resolve(prefixUri);
    // A prefix is a directory, or a directory plus the start of a name (as in S3).
    const isDir = await stat(prefix).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const dir = isDir ? prefix : path.dirname(prefix);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return entries
      .filter((e) => e.isFile() && !e.name.includes(TMP_MARK))
      .map((e) => path.join(e.parentPath, e.name))
      .filter((p) => isDir || p.startsWith(prefix))
      .sort()
      .map(pathToUri);
  }

  async delete(uri: string): Promise<void> {
    // A slice is a view of a file it does not own: the file stays.
    if (parseSliceUri(uri)) return;
    const p = await this.#resolve(uri);
    await rm(p, { force: true });
    await this.#pruneEmptyParents(p);
  }

  async version(uri: string): Promise<string> {
    try {
      return versionOf(await stat(await this.#resolve(uri), { bigint: true }));
    } catch (err) {
      throw this.#wrap(err, uri);
    }
  }

  sliceUri(uri: string, version: string, offset: number, length: number): string {
    // Always the whole file:// URI, so that the slice reads the same file from any caller.
    return formatSliceUri(pathToUri(uriToPath(uri, this.#root)), version, offset, length);
  }

  /** The slice's file, checked to be the version the slice was cut from. */
  async #sliceInfo(uri: string, slice: Slice): Promise<string> {
    const p = await this.#resolve(slice.base);
    const info = await stat(p, { bigint: true }).catch((err: unknown) => {
      throw this.#wrap(err, slice.base);
    });
    const now = versionOf(info);
    if (now !== slice.version) throw sliceChanged(uri, slice, now);
    return p;
  }

  async #openSlice(uri: string, slice: Slice): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
    const p = await this.#resolve(slice.base);
    // The version is checked on the open file itself: a file renamed over the path between a
    // check and an open would otherwise be the one read.
    const file = await open(p, 'r').catch((err: unknown) => {
      throw this.#wrap(err, slice.base);
    });
    try {
      const info = await file.stat({ bigint: true });
      // A directory opens fine and fails only at the first read: refused here, as openRead does.
      if (info.isDirectory()) throw this.#wrap(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), slice.base);
      const now = versionOf(info);
      if (now !== slice.version) throw sliceChanged(uri, slice, now);
    } catch (err) {
      await file.close();
      throw err;
    }
    if (slice.length === 0) {
      await file.close();
      return Readable.from([]) as Readable & AsyncIterable<Buffer>;
    }
    // `end` is inclusive; the stream closes the file when it ends or is destroyed.
    return file.createReadStream({
      highWaterMark: READ_BYTES,
      start: slice.offset,
      end: slice.offset + slice.length - 1,
    });
  }

  async copyWithin(fromUri: string, toUri: string, ifVersion?: string): Promise<string> {
    if (parseSliceUri(toUri)) throw sliceNotWritable(toUri);
    const from = await this.#resolve(fromUri);
    const sourceVersion = async (): Promise<string> => {
      const info = await stat(from, { bigint: true }).catch((err: unknown) => {
        throw this.#wrap(err, fromUri);
      });
      // A directory copies as nothing useful: refused as a user's mistake, as openRead does.
      if (info.isDirectory()) throw this.#wrap(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), fromUri);
      return versionOf(info);
    };
    const slice = { base: fromUri, offset: 0, length: 0, version: ifVersion ?? '' };
    // A missing source is refused here, naming it (the copy's own error would not).
    const before = await sourceVersion();
    if (ifVersion && before !== ifVersion) throw sliceChanged(fromUri, slice, before);
    // A copy-on-write clone where the file system has them (btrfs, XFS), else the kernel's copy.
    await this.copyFileAtomic(toUri, from, constants.COPYFILE_FICLONE).catch((err: unknown) => {
      throw this.#wrap(err, fromUri);
    });
    // Written during the copy: the copy may mix versions, so it is refused.
    if (ifVersion && (await sourceVersion()) !== ifVersion) {
      await this.delete(toUri);
      throw sliceChanged(fromUri, slice, await sourceVersion());
    }
    return await this.version(toUri);
  }

  // Directories are an artifact of this backend (object stores have none): once a delete empties
  // one, remove it, so that "nothing was written" holds for the directory tree too.
  async #pruneEmptyParents(p: string): Promise<void> {
    for (let dir = path.dirname(p); dir.startsWith(this.#root + path.sep); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
    }
  }

  async #resolve(uri: string): Promise<string> {
    this.#realRoot ??= mkdir(this.#root, { recursive: true }).then(() => realpath(this.#root));
    return resolveInside(uri, this.#root, await this.#realRoot);
  }

  /** A write's error that names the path's problem (not a missing file: a write creates it). */
  #wrapWrite(err: unknown, uri: string): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      const why =
        code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'ENOTDIR'
            ? 'has a file as a parent directory'
            : code === 'EROFS'
              ? 'cannot be written: read-only file system'
              : 'cannot be written: permission denied';
      return new StorageError(`"${uri}" ${why} (${uriToPath(uri, this.#root)})`, uri, { cause: err });
    }
    return err as Error;
  }

  #wrap(err: unknown, uri: string): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return new StorageError(`"${uri}" does not exist (${uriToPath(uri, this.#root)})`, uri, { cause: err });
    }
    // Not transient either: the user must fix the path or its permissions.
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') {
      const why =
        code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'ENOTDIR'
            ? 'has a file as a parent directory'
            : 'cannot be read: permission denied';
      return new StorageError(`"${uri}" ${why} (${uriToPath(uri, this.#root)})`, uri, { cause: err });
    }
    return err as Error;
  }
}

/** A local file's version: its size and modification time in nanoseconds (a rewrite changes either). */
function versionOf(info: { size: bigint; mtimeNs: bigint }): string {
  return `${info.size}-${info.mtimeNs}`;
}
