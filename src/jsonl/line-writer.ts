import type { BlobStorage } from '../storage/index.ts';

/** Appends lines to one storage file; nothing is visible until `close()` commits it atomically. */
export interface LineWriter {
  readonly uri: string;
  /** Appends one line; a `\n` is added. Await it: it waits when the disk is behind. */
  writeLine(line: string | Buffer): Promise<void>;
  /** Appends bytes as they are (they must end with `\n` where a line ends). */
  writeRaw(bytes: string | Buffer): Promise<void>;
  readonly lines: number;
  /** Flushes and commits the file. */
  close(): Promise<{ uri: string; bytes: number; lines: number }>;
  /** Drops the file: the temporary copy is removed and nothing is committed. */
  abort(): Promise<void>;
}

const FLUSH_BYTES = 1 << 20;
const NL = Buffer.from('\n');

class Aborted extends Error {}

/**
 * Opens a push-style writer over `storage.writeAtomic`, which pulls from an async iterable: a queue
 * of at most two 1 MiB blocks sits between them, so memory stays bounded while the disk catches up.
 */
export function openLineWriter(storage: BlobStorage, uri: string): LineWriter {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
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
  done.catch(() => undefined);

  async function flush(): Promise<void> {
    if (pendingBytes === 0) return;
    queue.push(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
    wakeConsumer?.();
    while (queue.length > 2 && !failure) {
      await Promise.race([new Promise<void>((resolve) => (wakeProducer = resolve)), done.then(() => undefined, () => undefined)]);
      wakeProducer = undefined;
    }
  }

  async function writeRaw(bytes: string | Buffer): Promise<void> {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= FLUSH_BYTES) await flush();
  }

  return {
    uri,
    get lines() {
      return lines;
    },
    writeRaw,
    async writeLine(line) {
      lines++;
      if (typeof line === 'string') return writeRaw(line + '\n');
      // Copy: callers pass views into read buffers that may be reused.
      pending.push(Buffer.from(line), NL);
      pendingBytes += line.length + 1;
      if (pendingBytes >= FLUSH_BYTES) await flush();
    },
    async close() {
      await flush();
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
