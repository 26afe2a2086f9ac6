import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { applyPayloadSigning, type PayloadSigning } from './s3-payload-signing.ts';

/** S3 allows at most 10,000 parts per multipart upload. */
const MAX_PARTS = 10_000;

/**
 * An UploadPart request without `Expect: 100-continue`. The SDK adds that header to bodies of
 * 2 MiB or more and then sends the request on a fresh agent without keep-alive, so every part
 * paid a new TCP connection (and its slow start) plus a round trip waiting for "100 Continue"
 * before its first byte. The header lets a server refuse a body before it is sent; a part is sent
 * only after CreateMultipartUpload succeeded on the same client, so credentials, bucket and region
 * are already accepted and the parts can share kept-alive connections.
 */
function uploadPartCommand(input: ConstructorParameters<typeof UploadPartCommand>[0]): UploadPartCommand {
  const command = new UploadPartCommand(input);
  command.middlewareStack.addRelativeTo(noExpectContinue, {
    relation: 'after',
    toMiddleware: 'addExpectContinueMiddleware',
    name: 'openaiBatchNoExpectContinue',
  });
  return command;
}

const noExpectContinue =
  <A extends { request: unknown }, R>(next: (args: A) => Promise<R>) =>
  async (args: A): Promise<R> => {
    const headers = (args.request as { headers?: Record<string, string> }).headers;
    if (headers) {
      delete headers['Expect'];
      delete headers['expect'];
    }
    return next(args);
  };

/**
 * Frees a part buffer's memory now rather than at V8's next full GC (old-generation buffers wait
 * for one). Only for buffers of the pool's own, which nothing reads any more: detaching leaves
 * every view of the buffer empty.
 */
function free(buf: Buffer): void {
  // ES2024 (Node >= 21); the project's lib setting is ES2023.
  (buf.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
}

/**
 * Part buffers and the parts in flight, shared by every upload of one storage. An upload fills
 * one buffer of its own at a time; a full part waits for one of `inFlight` sending slots. Memory
 * is then about `partBytes * (uploads at once + inFlight)`, however large the files. Buffers are
 * reused while uploads follow one another (fresh multi-MiB buffers per part, as lib-storage's
 * `Buffer.concat` makes, left the allocator holding freed part memory about as large again as
 * the live buffers), and freed when the last upload ends: an idle storage holds none, and the
 * reads between a stage's writes (reconcile reads each chunk before writing its records) use
 * that memory instead of adding to it.
 */
export class PartPool {
  readonly partBytes: number;
  readonly inFlight: number;
  readonly #free: Buffer[] = [];
  readonly #waiting: (() => void)[] = [];
  #sending = 0;
  #allocated = 0;
  #taken = 0;
  #uploads = 0;

  constructor(partBytes: number, inFlight: number) {
    this.partBytes = partBytes;
    this.inFlight = inFlight;
  }

  /** An upload starts: buffers given back are kept for reuse until the last one ends. */
  begin(): void {
    this.#uploads++;
  }

  /** An upload has ended and given back its buffers; the last one frees the idle buffers. */
  end(): void {
    if (--this.#uploads > 0) return;
    for (const buf of this.#free.splice(0)) free(buf);
  }

  take(): Buffer {
    this.#taken++;
    const idle = this.#free.pop();
    if (idle) return idle;
    this.#allocated++;
    // Never from Node's shared pool: the buffer is freed by detaching it.
    return Buffer.allocUnsafeSlow(this.partBytes);
  }

  /**
   * Takes a buffer back. `settled` is false for a part whose request failed: a request can fail
   * while its socket still sends the body, so that buffer is neither reused nor freed, only
   * dropped (the GC frees it once nothing holds it).
   */
  give(buf: Buffer, settled = true): void {
    this.#taken--;
    if (!settled) return;
    // Keep as many as one upload at full speed uses; free the rest at once.
    if (this.#uploads > 0 && this.#free.length <= this.inFlight) this.#free.push(buf);
    else free(buf);
  }

  /** Waits for a sending slot. Slots are freed by parts settling, which waits on nothing else. */
  async slot(): Promise<void> {
    while (this.#sending >= this.inFlight) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#sending++;
  }

  freeSlot(): void {
    this.#sending--;
    this.#waiting.shift()?.();
  }

  /** Buffers allocated so far (for tests). */
  get allocated(): number {
    return this.#allocated;
  }

  /** Buffers back in the pool, waiting to be reused (for tests). */
  get idle(): number {
    return this.#free.length;
  }

  /** Buffers taken and not yet given back (for tests). */
  get taken(): number {
    return this.#taken;
  }
}

export interface UploadTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Part buffers and sending slots (shared by the storage's uploads). */
  readonly pool: PartPool;
  /** Whether part and object bodies are signed (see {@link PayloadSigning}). */
  readonly payloadSigning: PayloadSigning;
}

class PartFailed {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * Streams `source` into one object, invisible to readers until it is whole: a source shorter than
 * one part is one known-length `PutObject`; a longer one is a multipart upload (parts of
 * `pool.partBytes`, each in one reused buffer, sent in the pool's slots) that S3 shows
 * only on `CompleteMultipartUpload`. On any failure (the source throws, a part is refused) the
 * parts in flight are cancelled and the upload is aborted, so nothing is left behind, and the
 * first error is rethrown. Returns the bytes written.
 */
export async function uploadStream(target: UploadTarget, source: AsyncIterable<Uint8Array | string>): Promise<number> {
  const { client, bucket, key, pool, payloadSigning } = target;
  const partBytes = pool.partBytes;
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let failure: PartFailed | undefined;
  let wakeOnFailure: ((f: PartFailed) => void) | undefined;
  let uploadId: string | undefined;
  let buf: Buffer | undefined = pool.take();
  let used = 0;
  let bytes = 0;

  const fail = (err: unknown): void => {
    if (failure) return;
    failure = new PartFailed(err);
    abort.abort();
    wakeOnFailure?.(failure);
  };

  const sendPart = async (full: Buffer, length: number): Promise<void> => {
    // Wait for a sending slot before starting the upload or another part.
    await pool.slot();
    if (failure) {
      pool.freeSlot();
      pool.give(full);
      return;
    }
    if (uploadId === undefined) {
      try {
        const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), {
          abortSignal: abort.signal,
        });
        if (!created.UploadId) throw new Error(`CreateMultipartUpload for ${key} returned no UploadId`);
        uploadId = created.UploadId;
      } catch (err) {
        pool.freeSlot();
        pool.give(full);
        fail(err);
        return;
      }
    }
    const partNumber = parts.length + 1;
    if (partNumber > MAX_PARTS) {
      pool.freeSlot();
      pool.give(full);
      fail(
        new Error(`${key} needs more than ${MAX_PARTS} parts of ${partBytes} bytes; raise OPENAI_BATCH_S3_PART_MIB`),
      );
      return;
    }
    const part: CompletedPart = { PartNumber: partNumber };
    parts.push(part);
    const id = uploadId;
    const sending: Promise<void> = client
      .send(
        applyPayloadSigning(
          uploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            PartNumber: partNumber,
            Body: full.subarray(0, length),
            ContentLength: length,
          }),
          payloadSigning,
        ),
        { abortSignal: abort.signal },
      )
      .then(
        (out) => {
          part.ETag = out.ETag;
          return true;
        },
        (err: unknown) => {
          fail(err);
          return false;
        },
      )
      .then((sent) => {
        inFlight.delete(sending);
        pool.freeSlot();
        pool.give(full, sent);
      });
    inFlight.add(sending);
  };

  const iterator = source[Symbol.asyncIterator]();
  pool.begin();
  try {
    while (!failure) {
      // A part may fail while the source is still producing: stop at once. The waiter is new for
      // every read: racing each read against one long-lived "failed" promise would hang a reaction
      // on it per read, each holding that read's piece until the upload ends (all of the file).
      const next = await new Promise<IteratorResult<Uint8Array | string> | PartFailed>((resolve, reject) => {
        wakeOnFailure = resolve;
        iterator.next().then(resolve, reject);
      });
      wakeOnFailure = undefined;
      if (next instanceof PartFailed) break;
      if (next.done) break;
      let piece = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      bytes += piece.byteLength;
      while (piece.byteLength > 0) {
        buf ??= pool.take();
        const n = Math.min(piece.byteLength, partBytes - used);
        buf.set(n === piece.byteLength ? piece : piece.subarray(0, n), used);
        used += n;
        piece = piece.subarray(n);
        if (used === partBytes) {
          const full = buf;
          buf = undefined;
          used = 0;
          await sendPart(full, partBytes);
          if (failure) break;
        }
      }
      if (failure) break;
    }
  } catch (err) {
    // The source threw.
    fail(err);
  }

  try {
    if (!failure) {
      if (uploadId === undefined && parts.length === 0) {
        // Shorter than one part (or empty): one PUT, whole or not at all.
        const body = buf ? buf.subarray(0, used) : Buffer.alloc(0);
        await client.send(
          applyPayloadSigning(
            new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.byteLength }),
            payloadSigning,
          ),
          { abortSignal: abort.signal },
        );
        return bytes;
      }
      if (used > 0 && buf) {
        const last = buf;
        buf = undefined;
        await sendPart(last, used);
      }
      await Promise.all(inFlight);
      if (!failure) {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
        return bytes;
      }
    }
    throw failure.error;
  } catch (err) {
    fail(err);
    // Stop the source (a generator waiting on its producer returns when it is next resumed).
    iterator.return?.().catch(() => undefined);
    await Promise.all(inFlight);
    if (uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw (failure as PartFailed).error;
  } finally {
    // A failed PutObject may still be sending this buffer: drop it, do not reuse or free it.
    if (buf) pool.give(buf, failure === undefined);
    pool.end();
  }
}
