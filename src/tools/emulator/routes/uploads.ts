import { createReadStream, createWriteStream } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { newFileId } from '../ids.ts';
import { ApiError } from '../http/api-error.ts';
import { multipartBoundary, parseMultipart } from '../http/multipart.ts';
import { readJson } from '../http/read-json.ts';
import type { FileRecord } from '../state/records.ts';
import type { StateStore } from '../state/state-store.ts';
import { fileObject } from './files.ts';
import type { RouteContext } from './route-context.ts';

// The Uploads API (spec `/uploads`): an Upload takes Parts of up to 64 MB, at most 8 GB in all,
// and expires an hour after its creation; completing it with the ordered part ids makes a File.

const UPLOAD_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision'];
const CREATE_PARAMS = ['filename', 'purpose', 'bytes', 'mime_type', 'expires_after'];
const COMPLETE_PARAMS = ['part_ids', 'md5'];
const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;
const MAX_PART_BYTES = 64 * 1024 ** 2;
const UPLOAD_TTL_SECONDS = 3600;
const THIRTY_DAYS = 30 * 24 * 3600;

interface PartRecord {
  id: string;
  created_at: number;
  bytes: number;
}

/** A stored Upload: the API object's fields plus what completing it needs. */
interface UploadRecord {
  id: string;
  object: 'upload';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  mime_type: string;
  status: 'pending' | 'completed' | 'cancelled' | 'expired';
  expires_at: number;
  /** `expires_after.seconds` of the File the upload becomes, if asked. */
  fileExpiresAfter: number | null;
  parts: PartRecord[];
  file: Omit<FileRecord, 'seq'> | null;
}

/**
 * Uploads live beside the store's files and batches (`uploads/<id>.json`, parts in
 * `uploads/parts/<part id>`), written before they are acknowledged, so they survive a restart.
 */
class UploadStore {
  readonly #dir: string;
  readonly #store: StateStore;
  readonly uploads = new Map<string, UploadRecord>();

  private constructor(store: StateStore) {
    this.#store = store;
    this.#dir = join(store.dir, 'uploads');
  }

  static async open(store: StateStore): Promise<UploadStore> {
    const uploads = new UploadStore(store);
    await mkdir(join(uploads.#dir, 'parts'), { recursive: true });
    for (const name of await readdir(uploads.#dir)) {
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(join(uploads.#dir, name), 'utf8')) as UploadRecord;
      uploads.uploads.set(record.id, record);
    }
    return uploads;
  }

  partPath(partId: string): string {
    return join(this.#dir, 'parts', partId);
  }

  async save(record: UploadRecord): Promise<void> {
    this.uploads.set(record.id, record);
    const tmp = this.#store.tmpPath();
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, join(this.#dir, `${record.id}.json`));
  }

  async dropParts(record: UploadRecord): Promise<void> {
    await Promise.all(record.parts.map((p) => rm(this.partPath(p.id), { force: true })));
  }
}

const opened = new WeakMap<StateStore, Promise<UploadStore>>();

function uploadsOf(store: StateStore): Promise<UploadStore> {
  let uploads = opened.get(store);
  if (!uploads) {
    uploads = UploadStore.open(store);
    opened.set(store, uploads);
  }
  return uploads;
}

/** The `Upload` object; an upload past its hour that was never completed reads `expired`. */
function uploadObject(record: UploadRecord, now = Date.now()): Record<string, unknown> {
  const status = record.status === 'pending' && record.expires_at * 1000 <= now ? 'expired' : record.status;
  return {
    id: record.id,
    object: 'upload',
    bytes: record.bytes,
    created_at: record.created_at,
    filename: record.filename,
    purpose: record.purpose,
    status,
    expires_at: record.expires_at,
    file: record.file,
  };
}

async function requireUpload(ctx: RouteContext): Promise<{ uploads: UploadStore; record: UploadRecord }> {
  const uploads = await uploadsOf(ctx.store);
  const record = uploads.uploads.get(ctx.id);
  if (!record) throw new ApiError(404, `Upload with id '${ctx.id}' not found.`, { param: 'upload_id', code: null });
  return { uploads, record };
}

/** Parts may be added to, and an upload completed or cancelled, only while it is pending. */
function requirePending(record: UploadRecord, action: string): void {
  const status = uploadObject(record).status;
  if (status !== 'pending') {
    throw new ApiError(
      400,
      `Cannot ${action} an Upload with status '${String(status)}'. Only pending Uploads can be modified.`,
      { param: 'upload_id', code: 'invalid_state' },
    );
  }
}

/** `POST /v1/uploads`: an Upload of `bytes` bytes, pending, expiring in an hour. */
export async function createUpload(ctx: RouteContext): Promise<unknown> {
  const body = objectBody(await readJson(ctx.req), CREATE_PARAMS);
  for (const param of ['filename', 'purpose', 'bytes', 'mime_type']) {
    if (body[param] === undefined || body[param] === null)
      throw new ApiError(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' });
  }
  const { filename, purpose, bytes, mime_type: mimeType } = body;
  if (typeof filename !== 'string' || filename === '') throw invalidType('filename', 'a non-empty string');
  if (typeof mimeType !== 'string' || mimeType === '') throw invalidType('mime_type', 'a non-empty string');
  if (typeof purpose !== 'string' || !UPLOAD_PURPOSES.includes(purpose)) {
    throw new ApiError(
      400,
      `'${String(purpose)}' is not one of ${UPLOAD_PURPOSES.map((p) => `'${p}'`).join(', ')} - 'purpose'`,
      { param: 'purpose', code: 'invalid_value' },
    );
  }
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0)
    throw invalidType('bytes', 'a non-negative integer');
  if (bytes > MAX_UPLOAD_BYTES)
    throw new ApiError(400, `Invalid 'bytes': an Upload accepts at most ${MAX_UPLOAD_BYTES} bytes.`, {
      param: 'bytes',
      code: 'invalid_value',
    });
  if (purpose === 'batch' && !filename.toLowerCase().endsWith('.jsonl')) {
    throw new ApiError(400, 'Invalid file format for Batch API. Must be .jsonl', { param: 'filename' });
  }
  const createdAt = Math.floor(Date.now() / 1000);
  const record: UploadRecord = {
    id: `upload_${randomBytes(12).toString('hex')}`,
    object: 'upload',
    bytes,
    created_at: createdAt,
    filename,
    purpose,
    mime_type: mimeType,
    status: 'pending',
    expires_at: createdAt + UPLOAD_TTL_SECONDS,
    fileExpiresAfter: parseExpiresAfter(body.expires_after),
    parts: [],
    file: null,
  };
  await (await uploadsOf(ctx.store)).save(record);
  return uploadObject(record);
}

/** `POST /v1/uploads/{id}/parts`: one Part (multipart field `data`, at most 64 MB), stored as it arrives. */
export async function addUploadPart(ctx: RouteContext): Promise<unknown> {
  const { uploads, record } = await requireUpload(ctx);
  requirePending(record, 'add a Part to');
  const boundary = multipartBoundary(ctx.req.headers['content-type']);
  const tmp = ctx.store.tmpPath();
  try {
    const { file } = await parseMultipart(ctx.req, boundary, tmp, MAX_PART_BYTES, 'data');
    if (!file)
      throw new ApiError(400, "Missing required parameter: 'data'.", {
        param: 'data',
        code: 'missing_required_parameter',
      });
    // The upload may have been cancelled (or completed) while this part was arriving.
    requirePending(record, 'add a Part to');
    const part: PartRecord = {
      id: `part_${randomBytes(12).toString('hex')}`,
      created_at: Math.floor(Date.now() / 1000),
      bytes: file.bytes,
    };
    await rename(tmp, uploads.partPath(part.id));
    record.parts.push(part);
    await uploads.save(record);
    ctx.store.counters.bytesUploaded += part.bytes;
    ctx.store.markCountersDirty();
    return { id: part.id, object: 'upload.part', created_at: part.created_at, upload_id: record.id };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `POST /v1/uploads/{id}/complete`: joins the listed parts, in order, into a File. */
export async function completeUpload(ctx: RouteContext): Promise<unknown> {
  const body = objectBody(await readJson(ctx.req), COMPLETE_PARAMS);
  const { uploads, record } = await requireUpload(ctx);
  requirePending(record, 'complete');
  if (body.part_ids === undefined)
    throw new ApiError(400, "Missing required parameter: 'part_ids'.", {
      param: 'part_ids',
      code: 'missing_required_parameter',
    });
  if (!Array.isArray(body.part_ids) || !body.part_ids.every((p) => typeof p === 'string'))
    throw invalidType('part_ids', 'an array of strings');
  if (body.md5 !== undefined && typeof body.md5 !== 'string') throw invalidType('md5', 'a string');
  const partIds = body.part_ids;
  const byId = new Map(record.parts.map((p) => [p.id, p]));
  if (new Set(partIds).size !== partIds.length)
    throw new ApiError(400, "Invalid 'part_ids': a Part may be listed only once.", {
      param: 'part_ids',
      code: 'invalid_value',
    });
  const parts = partIds.map((id) => {
    const part = byId.get(id);
    if (!part)
      throw new ApiError(400, `Invalid 'part_ids': Part '${id}' does not belong to Upload '${record.id}'.`, {
        param: 'part_ids',
        code: 'invalid_value',
      });
    return part;
  });
  const total = parts.reduce((sum, p) => sum + p.bytes, 0);
  if (total !== record.bytes) {
    throw new ApiError(400, byteCountMismatchMessage(total, record.bytes), {
      param: 'part_ids',
      code: 'invalid_value',
    });
  }
  const joined = ctx.store.tmpPath();
  const md5 = createHash('md5');
  try {
    const out = createWriteStream(joined);
    await pipeline(async function* () {
      for (const part of parts) {
        for await (const piece of createReadStream(uploads.partPath(part.id)) as AsyncIterable<Buffer>) {
          md5.update(piece);
          yield piece;
        }
      }
    }, out);
    if (body.md5 !== undefined && body.md5.toLowerCase() !== md5.digest('hex')) {
      throw new ApiError(400, "The md5 checksum of the uploaded bytes does not match 'md5'.", {
        param: 'md5',
        code: 'invalid_value',
      });
    }
    const createdAt = Math.floor(Date.now() / 1000);
    const file: FileRecord = {
      id: newFileId(),
      object: 'file',
      bytes: total,
      created_at: createdAt,
      filename: record.filename,
      purpose: record.purpose,
      status: 'processed',
      status_details: null,
      expires_at:
        record.fileExpiresAfter !== null
          ? createdAt + record.fileExpiresAfter
          : record.purpose === 'batch'
            ? createdAt + THIRTY_DAYS
            : null,
      seq: ctx.store.nextSeq(),
    };
    await rename(joined, ctx.store.dataPath(file.id));
    await ctx.store.saveFile(file);
    record.status = 'completed';
    record.file = fileObject(file);
    await uploads.save(record);
    await uploads.dropParts(record);
    ctx.store.counters.filesUploaded++;
    ctx.store.markCountersDirty();
    return uploadObject(record);
  } catch (err) {
    await rm(joined, { force: true });
    throw err;
  }
}

function byteCountMismatchMessage(total: number, expected: number): string {
  return (
    `The number of bytes uploaded upon completion (${total}) ` +
    `does not match the number of bytes specified when creating the Upload (${expected}).`
  );
}

/** `POST /v1/uploads/{id}/cancel`: no parts may be added afterwards; the parts' bytes are dropped. */
export async function cancelUpload(ctx: RouteContext): Promise<unknown> {
  const { uploads, record } = await requireUpload(ctx);
  requirePending(record, 'cancel');
  record.status = 'cancelled';
  await uploads.save(record);
  await uploads.dropParts(record);
  return uploadObject(record);
}

/** Ids of the uploads under an emulator's state dir that are still pending: what tests check for leftovers. */
export async function pendingUploadIds(stateDir: string, now = Date.now()): Promise<string[]> {
  const dir = join(stateDir, 'uploads');
  const names = await readdir(dir).catch(() => [] as string[]);
  const records = await Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as UploadRecord),
  );
  return records.filter((u) => uploadObject(u, now).status === 'pending').map((u) => u.id);
}

function objectBody(raw: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ApiError(400, 'The request body must be a JSON object.');
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key))
      throw new ApiError(400, `Unrecognized request argument supplied: ${key}`, {
        param: key,
        code: 'unknown_parameter',
      });
  }
  return raw as Record<string, unknown>;
}

/** The spec's `FileExpirationAfter`: anchor `created_at`, 3600 to 2592000 seconds. */
function parseExpiresAfter(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidType('expires_after', 'an object');
  const { anchor, seconds } = value as Record<string, unknown>;
  if (anchor !== 'created_at') {
    throw new ApiError(400, "Invalid value for 'expires_after.anchor': expected 'created_at'.", {
      param: 'expires_after.anchor',
      code: 'invalid_value',
    });
  }
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 3600 || seconds > 2_592_000) {
    throw new ApiError(400, "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.", {
      param: 'expires_after.seconds',
      code: 'invalid_value',
    });
  }
  return seconds;
}

function invalidType(param: string, expected: string): ApiError {
  return new ApiError(400, `Invalid type for '${param}': expected ${expected}.`, { param, code: 'invalid_type' });
}
