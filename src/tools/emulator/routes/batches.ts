import { ApiError, notFound } from '../http/api-error.ts';
import { readJson } from '../http/read-json.ts';
import type { NewBatch } from '../lifecycle/batch-engine.ts';
import type { BatchRecord } from '../state/records.ts';
import { SYNTHESIZED_ENDPOINTS } from '../synthesize/synthesize-row.ts';
import { queueCheck } from '../providers/azure-fail-fast.ts';
import { liveFile } from './files.ts';
import { cursorPage, parseLimit } from './list-page.ts';
import type { RouteContext } from './route-context.ts';

const API_ENDPOINTS = [
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/videos',
];

/** The one batch endpoint of Groq mode. */
const GROQ_ENDPOINT = '/v1/chat/completions';

function requireBatch(ctx: RouteContext): BatchRecord {
  const record = ctx.store.batches.get(ctx.id);
  if (!record) throw notFound('batch', ctx.id, 'batch_id');
  return record;
}

/** `POST /v1/batches`: checks the request as the API does, then validates the file in the background. */
export async function createBatch(ctx: RouteContext): Promise<unknown> {
  const body = await readJson(ctx.req);
  const input = parseCreateBatch(body);
  if (ctx.config().provider === 'groq' && input.endpoint !== GROQ_ENDPOINT) {
    throw new ApiError(400, `Invalid value for 'endpoint': Groq batches support only '${GROQ_ENDPOINT}'.`, {
      param: 'endpoint',
      code: 'invalid_value',
    });
  }
  const file = liveFile(ctx.store, input.input_file_id);
  if (!file) throw notFound('file', input.input_file_id, 'input_file_id');
  if (file.purpose !== 'batch') {
    throw new ApiError(400, wrongPurposeMessage(file.id, file.purpose), {
      param: 'input_file_id',
      code: 'invalid_value',
    });
  }
  const admit = await queueCheck(ctx, file, input.endpoint);
  // No await between the check and the create: the new batch is in the queue before any other create is checked.
  const enqueued = admit();
  const record = await ctx.engine.create(enqueued ? { ...input, enqueued } : input, file);
  return ctx.engine.view(record);
}

function wrongPurposeMessage(fileId: string, purpose: string): string {
  return (
    `Invalid 'input_file_id': file ${fileId} has purpose '${purpose}'; ` +
    "a batch input file must be uploaded with purpose 'batch'."
  );
}

function parseCreateBatch(raw: unknown): NewBatch {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ApiError(400, 'The request body must be a JSON object.');
  const body = raw as Record<string, unknown>;
  for (const param of ['input_file_id', 'endpoint', 'completion_window'] as const) {
    if (body[param] === undefined || body[param] === null) {
      throw new ApiError(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' });
    }
  }
  if (typeof body.input_file_id !== 'string') throw invalidType('input_file_id', 'a string');
  if (typeof body.endpoint !== 'string' || !API_ENDPOINTS.includes(body.endpoint)) {
    throw new ApiError(
      400,
      `Invalid value for 'endpoint': expected one of ${API_ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`,
      {
        param: 'endpoint',
        code: 'invalid_value',
      },
    );
  }
  if (!SYNTHESIZED_ENDPOINTS.includes(body.endpoint)) {
    throw new ApiError(400, `The emulator does not support batches for ${body.endpoint}.`, {
      param: 'endpoint',
      code: 'unsupported_value',
    });
  }
  if (body.completion_window !== '24h') {
    throw new ApiError(400, "Invalid value for 'completion_window': only '24h' is supported.", {
      param: 'completion_window',
      code: 'invalid_value',
    });
  }
  return {
    input_file_id: body.input_file_id,
    endpoint: body.endpoint,
    completion_window: '24h',
    metadata: parseMetadata(body.metadata),
    output_expires_after: parseOutputExpiresAfter(body.output_expires_after),
  };
}

/** The spec's `Metadata`: at most 16 string pairs, keys up to 64 characters, values up to 512. */
function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidType('metadata', 'an object');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) {
    throw new ApiError(400, tooManyMetadataPropertiesMessage(entries.length), {
      param: 'metadata',
      code: 'object_above_max_properties',
    });
  }
  for (const [key, v] of entries) {
    if (key.length > 64) {
      throw new ApiError(400, metadataKeyTooLongMessage(key), {
        param: 'metadata',
        code: 'string_above_max_length',
      });
    }
    if (typeof v !== 'string') throw invalidType(`metadata.${key}`, 'a string');
    if (v.length > 512) {
      throw new ApiError(400, metadataValueTooLongMessage(key, v), {
        param: `metadata.${key}`,
        code: 'string_above_max_length',
      });
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function tooManyMetadataPropertiesMessage(count: number): string {
  return (
    "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, " +
    `but got an object with ${count} properties instead.`
  );
}

function metadataKeyTooLongMessage(key: string): string {
  return (
    `Invalid 'metadata': key '${key.slice(0, 70)}…' is too long. ` +
    `Expected a key with at most 64 characters, but got ${key.length} characters instead.`
  );
}

function metadataValueTooLongMessage(key: string, value: string): string {
  return (
    `Invalid 'metadata.${key}': string too long. ` +
    `Expected a string with maximum length 512, but got a string with length ${value.length} instead.`
  );
}

function parseOutputExpiresAfter(value: unknown): NewBatch['output_expires_after'] {
  if (value === undefined || value === null) return null;
  const v = value as { anchor?: unknown; seconds?: unknown };
  if (v.anchor !== 'created_at') {
    throw new ApiError(400, "Invalid value for 'output_expires_after.anchor': expected 'created_at'.", {
      param: 'output_expires_after.anchor',
      code: 'invalid_value',
    });
  }
  if (typeof v.seconds !== 'number' || !Number.isInteger(v.seconds) || v.seconds < 3600 || v.seconds > 2_592_000) {
    throw new ApiError(400, "Invalid 'output_expires_after.seconds': expected an integer between 3600 and 2592000.", {
      param: 'output_expires_after.seconds',
      code: 'invalid_value',
    });
  }
  return { anchor: 'created_at', seconds: v.seconds };
}

function invalidType(param: string, expected: string): ApiError {
  return new ApiError(400, `Invalid type for '${param}': expected ${expected}.`, { param, code: 'invalid_type' });
}

/** `GET /v1/batches`: newest first, cursor-paged (the API has no filters and no order). */
export async function listBatches(ctx: RouteContext): Promise<unknown> {
  const limit = parseLimit(ctx.url, 100, 20);
  const now = Date.now();
  const batches = [...ctx.store.batches.values()].sort((a, b) => b.seq - a.seq);
  return Promise.resolve(
    cursorPage(batches, ctx.url.searchParams.get('after'), limit, (record) => ctx.engine.view(record, now)),
  );
}

export async function retrieveBatch(ctx: RouteContext): Promise<unknown> {
  return Promise.resolve(ctx.engine.view(requireBatch(ctx)));
}

/** `POST /v1/batches/{id}/cancel`: `cancelling` now, `cancelled` a little later, processed rows kept. */
export async function cancelBatch(ctx: RouteContext): Promise<unknown> {
  const record = requireBatch(ctx);
  const moment = await ctx.engine.cancel(record);
  if (moment.status !== 'cancelling' && moment.status !== 'cancelled') {
    throw new ApiError(409, `Cannot cancel a batch with status '${moment.status}'.`, { param: null, code: null });
  }
  return ctx.engine.view(record);
}
