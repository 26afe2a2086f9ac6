import { createReadStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { newFileId } from '../ids.ts';
import { ApiError, notFound } from '../http/api-error.ts';
import { multipartBoundary, parseMultipart } from '../http/multipart.ts';
import type { FileRecord } from '../state/records.ts';
import type { StateStore } from '../state/state-store.ts';
import { cursorPage, parseLimit } from './list-page.ts';
import type { RouteContext } from './route-context.ts';

const UPLOAD_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];
const THIRTY_DAYS = 30 * 24 * 3600;

/** The `OpenAIFile` object of a stored file. */
export function fileObject(record: FileRecord): Omit<FileRecord, 'seq'> {
  const { seq: _seq, ...file } = record;
  return file;
}

/** A file that exists and has not expired; expired files are gone, as on OpenAI. */
export function liveFile(store: StateStore, id: string, now = Date.now()): FileRecord | undefined {
  const record = store.files.get(id);
  if (!record || (record.expires_at !== null && record.expires_at * 1000 <= now)) return undefined;
  return record;
}

function requireFile(ctx: RouteContext): FileRecord {
  const record = liveFile(ctx.store, ctx.id);
  if (!record) throw notFound('file', ctx.id, 'id');
  return record;
}

/** `POST /v1/files`: a streamed multipart upload, written to disk as it arrives. */
export async function createFile(ctx: RouteContext): Promise<unknown> {
  const boundary = multipartBoundary(ctx.req.headers['content-type']);
  const tmp = ctx.store.tmpPath();
  try {
    const { fields, file } = await parseMultipart(ctx.req, boundary, tmp, ctx.config().limits.maxUploadBytes);
    if (!file)
      throw new ApiError(400, "Missing required parameter: 'file'.", {
        param: 'file',
        code: 'missing_required_parameter',
      });
    const purpose = fields.purpose;
    if (purpose === undefined)
      throw new ApiError(400, "Missing required parameter: 'purpose'.", {
        param: 'purpose',
        code: 'missing_required_parameter',
      });
    if (!UPLOAD_PURPOSES.includes(purpose)) {
      throw new ApiError(
        400,
        `'${purpose}' is not one of ${UPLOAD_PURPOSES.map((p) => `'${p}'`).join(', ')} - 'purpose'`,
        { param: 'purpose', code: 'invalid_value' },
      );
    }
    if (purpose === 'batch' && !file.filename.toLowerCase().endsWith('.jsonl')) {
      throw new ApiError(400, 'Invalid file format for Batch API. Must be .jsonl', { param: 'file' });
    }
    const createdAt = Math.floor(Date.now() / 1000);
    const expiresAfter = parseExpiresAfter(fields);
    const record: FileRecord = {
      id: newFileId(),
      object: 'file',
      bytes: file.bytes,
      created_at: createdAt,
      filename: file.filename,
      purpose,
      status: 'processed',
      status_details: null,
      // Batch input files expire after 30 days unless told otherwise; other purposes persist.
      expires_at:
        expiresAfter !== null
          ? createdAt + Math.max(1, Math.round(expiresAfter * ctx.config().fileTtlScale))
          : purpose === 'batch'
            ? createdAt + THIRTY_DAYS
            : null,
      seq: ctx.store.nextSeq(),
    };
    await rename(tmp, ctx.store.dataPath(record.id));
    await ctx.store.saveFile(record);
    ctx.store.counters.filesUploaded++;
    ctx.store.counters.bytesUploaded += record.bytes;
    ctx.store.markCountersDirty();
    return fileObject(record);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `expires_after[anchor]` and `expires_after[seconds]` as the SDK encodes them in the form. */
function parseExpiresAfter(fields: Record<string, string>): number | null {
  const anchor = fields['expires_after[anchor]'];
  const seconds = fields['expires_after[seconds]'];
  if (anchor === undefined && seconds === undefined) return null;
  if (anchor !== 'created_at') {
    throw new ApiError(400, "Invalid value for 'expires_after.anchor': expected 'created_at'.", {
      param: 'expires_after.anchor',
      code: 'invalid_value',
    });
  }
  const value = Number(seconds);
  if (!Number.isInteger(value) || value < 3600 || value > 2_592_000) {
    throw new ApiError(400, "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.", {
      param: 'expires_after.seconds',
      code: 'invalid_value',
    });
  }
  return value;
}

/** `GET /v1/files`: newest first by default, filtered by `purpose`, cursor-paged. */
export async function listFiles(ctx: RouteContext): Promise<unknown> {
  const order = ctx.url.searchParams.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new ApiError(400, `Invalid value for 'order': expected 'asc' or 'desc', got '${order}'.`, {
      param: 'order',
      code: 'invalid_value',
    });
  }
  const limit = parseLimit(ctx.url, 10_000, 10_000);
  const purpose = ctx.url.searchParams.get('purpose');
  const now = Date.now();
  const files = [...ctx.store.files.values()]
    .filter((f) => liveFile(ctx.store, f.id, now) && (purpose === null || f.purpose === purpose))
    .sort((a, b) => (order === 'asc' ? a.seq - b.seq : b.seq - a.seq));
  return Promise.resolve(cursorPage(files, ctx.url.searchParams.get('after'), limit, fileObject));
}

export async function retrieveFile(ctx: RouteContext): Promise<unknown> {
  return Promise.resolve(fileObject(requireFile(ctx)));
}

/** `GET /v1/files/{id}/content`: the bytes, streamed from disk. */
export async function fileContent(ctx: RouteContext): Promise<unknown> {
  const record = requireFile(ctx);
  ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': record.bytes });
  await pipeline(createReadStream(ctx.store.dataPath(record.id)), ctx.res);
  return undefined;
}

/** `DELETE /v1/files/{id}`. An unfinished batch keeps reading its input's bytes until it ends. */
export async function deleteFile(ctx: RouteContext): Promise<unknown> {
  const record = requireFile(ctx);
  await ctx.store.deleteFile(record.id, { keepData: ctx.engine.isInputInUse(record.id) });
  return { id: record.id, object: 'file', deleted: true };
}
