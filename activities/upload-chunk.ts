import { FAILURE_TYPES } from '../common/failures.ts';
import { createHash } from 'node:crypto';
import { JOB_FILE_ATTEMPTS, jobFilesFix, stepFailure } from './step-failures.ts';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { toStreamingFile } from 'openai';
import type { BlobStorage } from '../src/storage/index.ts';
import { callOpenAI } from '../src/openai/errors.ts';
import type { CrashHook } from './crash-point.ts';
import { deleteFileQuietly, filesNamed } from './files-named.ts';
import { recordBytesUploaded, withMetricTags } from './metrics.ts';

/** Input of `uploadChunk`. */
export interface UploadChunkInput {
  readonly chunkUri: string;
  readonly filename: string;
  /** OpenAI deletes the file this many seconds after its upload. */
  readonly expiresAfterSeconds?: number | undefined;
  /** The job's metric labels (job_name, endpoint, model) for what the activity records. */
  readonly metricTags?: Record<string, string> | undefined;
}

/** The Uploads API's largest part; a chunk no larger goes up in one `files.create`. */
export const MAX_UPLOAD_PART_BYTES = 64 * 1024 * 1024;

/** What a parted upload heartbeats, so that the next attempt resumes after the parts OpenAI has. */
export interface UploadProgress {
  readonly uploadId: string;
  /** The parts added so far, in file order. */
  readonly partIds: readonly string[];
  /** Bytes of the chunk file those parts hold. */
  readonly bytesDone: number;
  /** Bytes of the part in flight (liveness only; not resumed from). */
  readonly bytesSent?: number;
}

/**
 * Files a failed attempt may have created are searched back this far before the activity was scheduled
 * (clock skew).
 */
const ADOPT_SLACK_MS = 10 * 60_000;

/** The uploaded file; `expiresAtMs` is when OpenAI says it expires (a resubmission must not reuse it later). */
type Uploaded = { fileId: string; bytes: number; expiresAtMs?: number };

function uploaded(file: Pick<OpenAI.Files.FileObject, 'id' | 'bytes' | 'expires_at'>): Uploaded {
  return {
    fileId: file.id,
    bytes: file.bytes,
    ...(typeof file.expires_at === 'number' ? { expiresAtMs: file.expires_at * 1000 } : {}),
  };
}

/**
 * `uploadChunk`: streams a chunk file to OpenAI (purpose `batch`), heartbeating as it goes.
 * - A chunk of at most `partBytes` goes up in one `files.create`.
 * - A larger one goes through the Uploads API in parts of `partBytes`; each added part is recorded
 *   in the heartbeat details, and a retry resumes the same upload after the last recorded part
 *   (an upload OpenAI no longer accepts, e.g. past its hour, is cancelled and started again).
 * - A retry first looks for the file an earlier attempt created but never reported (a crash or a
 *   lost response after `files.create` or `uploads.complete`): it reuses one and deletes any
 *   other, so no attempt leaves an orphaned file behind.
 */
export function createUploadChunkActivities(
  openai: () => OpenAI,
  storage: BlobStorage,
  crash: CrashHook,
  partBytes = MAX_UPLOAD_PART_BYTES,
  jobFileAttempts = JOB_FILE_ATTEMPTS,
) {
  if (!Number.isInteger(partBytes) || partBytes < 1 || partBytes > MAX_UPLOAD_PART_BYTES) {
    throw new RangeError(`uploadPartBytes must be an integer from 1 to ${MAX_UPLOAD_PART_BYTES}, got ${partBytes}`);
  }
  return {
    async uploadChunk(input: UploadChunkInput): Promise<Uploaded> {
      return await withMetricTags(input.metricTags, () => upload(input)).catch((err: unknown) => {
        throw stepFailure(err, jobFilesFix(storage.rootUri), { fatalFromAttempt: jobFileAttempts });
      });
    },
  };

  async function upload(input: UploadChunkInput): Promise<Uploaded> {
    const info = Context.current().info;
    const size = await storage.size(input.chunkUri);
    if (info.attempt > 1) {
      const adopted = await adoptEarlierFile(
        openai(),
        input.filename,
        size,
        info.scheduledTimestampMs - ADOPT_SLACK_MS,
      );
      if (adopted) return adopted;
    }
    if (size <= partBytes) return await uploadWhole(openai(), storage, input, crash);
    return await uploadInParts(openai(), storage, input, size, partBytes, crash, resumable(info.heartbeatDetails));
  }
}

/** One `files.create`, streamed, heartbeating the bytes sent. */
async function uploadWhole(
  client: OpenAI,
  storage: BlobStorage,
  input: UploadChunkInput,
  crash: CrashHook,
): Promise<Uploaded> {
  const context = Context.current();
  const source = await storage.openRead(input.chunkUri);
  let sent = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const part of source) {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      sent += part.byteLength;
      context.heartbeat({ bytesSent: sent });
      if (sent > 0) crash('during-upload');
      yield part;
    }
  }
  const file = await callOpenAI('files.create', () =>
    client.files.create(
      {
        file: toStreamingFile(counted(), input.filename, { type: 'application/jsonl' }),
        purpose: 'batch',
        ...expiresAfter(input),
      },
      { signal: context.cancellationSignal, ...STREAMED_BODY },
    ),
  );
  recordBytesUploaded(sent);
  return uploaded(file);
}

/** The Uploads API: create (or resume) the upload, add the remaining parts in order, complete it. */
async function uploadInParts(
  client: OpenAI,
  storage: BlobStorage,
  input: UploadChunkInput,
  size: number,
  partBytes: number,
  crash: CrashHook,
  resumed: UploadProgress | undefined,
): Promise<Uploaded> {
  const context = Context.current();
  const signal = context.cancellationSignal;
  if (resumed && resumed.bytesDone <= size) {
    try {
      return await sendParts(client, storage, input, size, partBytes, crash, resumed);
    } catch (err) {
      // OpenAI refused the old upload (expired, cancelled, unknown): cancel it and start over.
      if (signal.aborted || !isRefusal(err)) throw err;
      await cancelQuietly(client, resumed.uploadId);
    }
  } else if (resumed) {
    await cancelQuietly(client, resumed.uploadId);
  }
  const upload = await callOpenAI('uploads.create', () =>
    client.uploads.create(
      {
        bytes: size,
        filename: input.filename,
        mime_type: 'application/jsonl',
        purpose: 'batch',
        ...expiresAfter(input),
      },
      { signal },
    ),
  );
  const progress: UploadProgress = { uploadId: upload.id, partIds: [], bytesDone: 0 };
  context.heartbeat(progress);
  return await sendParts(client, storage, input, size, partBytes, crash, progress);
}

async function sendParts(
  client: OpenAI,
  storage: BlobStorage,
  input: UploadChunkInput,
  size: number,
  partBytes: number,
  crash: CrashHook,
  start: UploadProgress,
): Promise<Uploaded> {
  const context = Context.current();
  const signal = context.cancellationSignal;
  const { uploadId } = start;
  const partIds = [...start.partIds];
  let bytesDone = start.bytesDone;
  const md5 = createHash('md5');
  const reader = new ByteReader(await storage.openRead(input.chunkUri));
  try {
    return await sendRemainingParts();
  } catch (err) {
    // A cancelled activity leaves no pending upload behind. A failed one, or one stopped by a worker
    // shutdown or a heartbeat timeout, is resumed by the next attempt instead.
    if (signal.aborted && context.cancellationDetails?.cancelRequested === true) await cancelQuietly(client, uploadId);
    throw err;
  } finally {
    reader.close();
  }

  async function sendRemainingParts(): Promise<Uploaded> {
    // The parts OpenAI already holds are read (for the checksum), not sent again.
    for await (const piece of reader.take(bytesDone)) md5.update(piece);
    while (bytesDone < size) {
      if (signal.aborted) throw signal.reason;
      const length = Math.min(partBytes, size - bytesDone);
      let sent = 0;
      const reached = bytesDone;
      const data = async function* (): AsyncGenerator<Uint8Array> {
        for await (const piece of reader.take(length)) {
          if (signal.aborted) throw signal.reason;
          md5.update(piece);
          sent += piece.byteLength;
          context.heartbeat({ uploadId, partIds, bytesDone: reached, bytesSent: sent } satisfies UploadProgress);
          // The test crash point: mid-upload, once a part is safely at OpenAI.
          if (partIds.length > 0) crash('during-upload');
          yield piece;
        }
        if (sent !== length)
          throw ApplicationFailure.retryable(
            `${input.chunkUri} changed while uploading: expected ${length} more bytes`,
            FAILURE_TYPES.storage,
          );
      };
      const part = await callOpenAI('uploads.parts.create', () =>
        client.uploads.parts.create(
          uploadId,
          { data: toStreamingFile(data(), 'part', { type: 'application/octet-stream' }) },
          { signal, ...STREAMED_BODY },
        ),
      );
      partIds.push(part.id);
      recordBytesUploaded(length);
      bytesDone += length;
      context.heartbeat({ uploadId, partIds, bytesDone } satisfies UploadProgress);
    }
    const done = await callOpenAI('uploads.complete', () =>
      client.uploads.complete(uploadId, { part_ids: partIds, md5: md5.digest('hex') }, { signal }),
    );
    if (!done.file)
      throw ApplicationFailure.retryable(`uploads.complete(${uploadId}) returned no file`, FAILURE_TYPES.connection);
    return uploaded(done.file);
  }
}

/**
 * Request options of a streamed upload. Node's fetch (undici) clones every request with a body so
 * that it could follow a redirect, and the clone tees a stream body: the branch no one reads holds
 * every chunk sent until the request ends (nodejs/undici#4058), the whole chunk file per upload
 * (two 54 MB uploads at once held ~110 MB). A stream body cannot be sent again to follow a redirect
 * anyway, so refusing redirects costs nothing and skips the clone.
 */
const STREAMED_BODY = { fetchOptions: { redirect: 'error' } } as const;

/**
 * The file an earlier attempt created with this chunk's (job-unique) name, if any: the newest of
 * the right size is reused, every other one is deleted. Batch files only, newest first, back to
 * `notBeforeMs`.
 */
async function adoptEarlierFile(
  client: OpenAI,
  filename: string,
  size: number,
  notBeforeMs: number,
): Promise<Uploaded | undefined> {
  const matches = await filesNamed(client, filename, notBeforeMs);
  const keep = matches.find((f) => f.bytes === size);
  for (const file of matches) if (file !== keep) await deleteFileQuietly(client, file.id);
  return keep ? uploaded(keep) : undefined;
}

/** The heartbeat details of an earlier attempt, if they describe a parted upload. */
function resumable(details: unknown): UploadProgress | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const { uploadId, partIds, bytesDone } = details as Partial<UploadProgress>;
  if (typeof uploadId !== 'string' || !Array.isArray(partIds) || typeof bytesDone !== 'number') return undefined;
  if (!partIds.every((p) => typeof p === 'string')) return undefined;
  return { uploadId, partIds, bytesDone };
}

/** A non-retryable answer about the upload itself (400 invalid state, 404 unknown upload). */
function isRefusal(err: unknown): boolean {
  return (
    err instanceof ApplicationFailure &&
    err.nonRetryable === true &&
    (err.type === FAILURE_TYPES.badRequest || err.type === FAILURE_TYPES.notFound)
  );
}

async function cancelQuietly(client: OpenAI, uploadId: string): Promise<void> {
  // Best effort: an upload that is already cancelled, completed or expired cannot be cancelled.
  await client.uploads.cancel(uploadId).catch(() => undefined);
}

function expiresAfter(input: UploadChunkInput): { expires_after?: { anchor: 'created_at'; seconds: number } } {
  return input.expiresAfterSeconds
    ? { expires_after: { anchor: 'created_at', seconds: input.expiresAfterSeconds } }
    : {};
}

/** Reads a byte stream in runs of exact lengths, splitting the stream's own buffers as needed. */
class ByteReader {
  readonly #source: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  readonly #iterator: AsyncIterator<Buffer | string>;
  #pending: Buffer = Buffer.alloc(0);

  constructor(source: NodeJS.ReadableStream & AsyncIterable<Buffer>) {
    this.#source = source;
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** Yields the next `length` bytes (fewer only at the end of the stream). */
  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      if (this.#pending.length === 0) {
        const next = await this.#iterator.next();
        if (next.done) return;
        this.#pending = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        continue;
      }
      const piece = this.#pending.subarray(0, left);
      this.#pending = this.#pending.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }

  close(): void {
    (this.#source as unknown as { destroy?: () => void }).destroy?.();
  }
}
