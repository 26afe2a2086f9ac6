import type { BlobStorage } from '../storage/index.ts';

/** Appends lines to one storage file; nothing is visible until `close()` commits it atomically. */
export interface LineWriter {
  readonly uri: string;
  /** Appends one line; a `\n` is added. Await it: it waits when the disk is behind. */
  writeLine(line: string | Buffer): Promise<void>;
  /**
   * Appends one line (a `\n` is added) without waiting, for loops that write many lines per read:
   * returns false when the disk is behind, and the caller must `await flush()` before appending more.
   * A line may come in parts (strings and bytes, joined as they are), copied before it returns.
   */
  appendLine(line: string | Buffer | readonly (string | Buffer)[]): boolean;
  /**
   * `appendLine` of a line made of byte ranges: piece i is `sources[i]` from `starts[i]` to
   * `ends[i]`, for producers that cut lines out of buffers they read (no view object per piece).
   * Plain `Uint8Array`s copy fastest (a Buffer's slice is a Buffer, built by a JS constructor).
   */
  appendLineRanges(
    sources: readonly Uint8Array[],
    starts: ArrayLike<number>,
    ends: ArrayLike<number>,
    count: number,
  ): boolean;
  /** Waits until the disk has caught up enough for more lines (see `appendLine`). */
  flush(): Promise<void>;
  /** Appends bytes as they are (they must end with `\n` where a line ends). */
  writeRaw(bytes: string | Buffer): Promise<void>;
  readonly lines: number;
  /** Flushes and commits the file. */
  close(): Promise<{ uri: string; bytes: number; lines: number }>;
  /** Drops the file: the temporary copy is removed and nothing is committed. */
  abort(): Promise<void>;
}

// 64 KiB: a block that takes long to fill outlives V8's scavenges, is promoted, and is freed only
// by a full GC. 1 MiB blocks held ~80 MB dead while finalize merged 1M rows; with a worker's young
// generation (1 MiB semi-spaces) 256 KiB ones did the same (73 mark-compacts in a 1 GB plan, up to
// ~40 MB dead), 64 KiB ones die young (5) at no cost in time (bench/README.md, worker-rss, session 10).
const BLOCK_BYTES = 1 << 16;
// Blocks handed to storage but not yet written; more than this and the producer waits.
const MAX_QUEUED = 4;
const LF = 0x0a;

class Aborted extends Error {}

/**
 * Opens a push-style writer over `storage.writeAtomic`, which pulls from an async iterable. Lines
 * are copied straight into 64 KiB blocks (one copy, no per-line buffers); at most four full
 * blocks wait for the disk, so memory stays bounded while it catches up.
 */
export function openLineWriter(storage: BlobStorage, uri: string): LineWriter {
  const queue: Buffer[] = [];
  let ended = false;
  let settled = false;
  let failure: Error | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let block = Buffer.allocUnsafe(BLOCK_BYTES);
  let used = 0;
  let lines = 0;

  async function* drain(): AsyncGenerator<Buffer> {
    for (;;) {
      if (failure) throw failure;
      const next = queue.shift();
      if (next) {
        wakeProducer?.();
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  }
  const done = storage.writeAtomic(uri, drain());
  // The failure surfaces through close() or abort(); never let it go unhandled in between.
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  const doneSettled = done.then(
    () => undefined,
    () => undefined,
  );

  function commitBlock(): void {
    if (used === 0) return;
    queue.push(block.subarray(0, used));
    block = Buffer.allocUnsafe(BLOCK_BYTES);
    used = 0;
    wakeConsumer?.();
  }

  function appendBytes(buf: Buffer): void {
    if (used + buf.length > BLOCK_BYTES) {
      commitBlock();
      if (buf.length > BLOCK_BYTES) {
        queue.push(Buffer.from(buf));
        wakeConsumer?.();
        return;
      }
    }
    // Copy: callers pass views into read buffers that may be reused.
    buf.copy(block, used);
    used += buf.length;
  }

  function appendString(s: string): void {
    // s.length * 3 bounds its UTF-8 size; measure exactly only when that bound does not fit.
    if (used + s.length * 3 > BLOCK_BYTES) {
      const bytes = Buffer.byteLength(s);
      if (used + bytes > BLOCK_BYTES) {
        commitBlock();
        if (bytes > BLOCK_BYTES) {
          queue.push(Buffer.from(s));
          wakeConsumer?.();
          return;
        }
      }
    }
    used += block.write(s, used, 'utf8');
  }

  function append(bytes: string | Buffer): void {
    if (typeof bytes === 'string') appendString(bytes);
    else appendBytes(bytes);
  }

  /** The parts of one line, kept in one block when they fit (as a whole line is). */
  function appendParts(parts: readonly (string | Buffer)[]): void {
    let bound = 0;
    for (const part of parts) bound += typeof part === 'string' ? part.length * 3 : part.length;
    if (used + bound > BLOCK_BYTES) {
      let bytes = 0;
      for (const part of parts) bytes += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
      if (used + bytes > BLOCK_BYTES) {
        commitBlock();
        if (bytes > BLOCK_BYTES) {
          queue.push(Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))));
          wakeConsumer?.();
          return;
        }
      }
    }
    for (const part of parts) {
      if (typeof part === 'string') used += block.write(part, used, 'utf8');
      else used += part.copy(block, used);
    }
  }

  function appendLine(line: string | Buffer | readonly (string | Buffer)[]): boolean {
    lines++;
    if (typeof line === 'string' || Buffer.isBuffer(line)) append(line);
    else appendParts(line);
    if (used === BLOCK_BYTES) commitBlock();
    block[used++] = LF;
    return queue.length <= MAX_QUEUED || failure !== undefined || settled;
  }

  function appendLineRanges(
    sources: readonly Uint8Array[],
    starts: ArrayLike<number>,
    ends: ArrayLike<number>,
    count: number,
  ): boolean {
    lines++;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += ends[i]! - starts[i]!;
    if (used + bytes > BLOCK_BYTES) {
      commitBlock();
      if (bytes > BLOCK_BYTES) {
        const whole = Buffer.allocUnsafe(bytes);
        for (let i = 0, at = 0; i < count; i++) {
          whole.set(sources[i]!.subarray(starts[i], ends[i]), at);
          at += ends[i]! - starts[i]!;
        }
        queue.push(whole);
        wakeConsumer?.();
        bytes = 0;
      }
    }
    // bytes is 0 when the line went out whole above (or is empty): nothing is left to copy.
    for (let i = 0; i < count && bytes > 0; i++) {
      const source = sources[i]!;
      const start = starts[i]!;
      const end = ends[i]!;
      block.set(start === 0 && end === source.length ? source : source.subarray(start, end), used);
      used += end - start;
    }
    if (used === BLOCK_BYTES) commitBlock();
    block[used++] = LF;
    return queue.length <= MAX_QUEUED || failure !== undefined || settled;
  }

  async function flush(): Promise<void> {
    while (queue.length > MAX_QUEUED && !failure && !settled) {
      await Promise.race([new Promise<void>((resolve) => (wakeProducer = resolve)), doneSettled]);
      wakeProducer = undefined;
    }
  }

  return {
    uri,
    get lines() {
      return lines;
    },
    appendLine,
    appendLineRanges,
    flush,
    async writeRaw(bytes) {
      append(bytes);
      if (queue.length > MAX_QUEUED) await flush();
    },
    async writeLine(line) {
      if (!appendLine(line)) await flush();
    },
    async close() {
      commitBlock();
      ended = true;
      wakeConsumer?.();
      const result = await done;
      return { ...result, lines };
    },
    async abort() {
      failure = new Aborted('write aborted');
      wakeConsumer?.();
      await done.catch(() => undefined);
    },
  };
}
