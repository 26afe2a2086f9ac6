import type { z } from 'zod';
import { BODY_SCHEMAS, DEFAULT_MODERATION_MODEL } from './body-schemas.ts';
import type { BatchEndpoint } from './endpoints.ts';
import { fastCheckRequest } from './fast-check.ts';
import type { RequestIssue } from './invalid-reasons.ts';
import { DEFAULT_MAX_CUSTOM_ID_LENGTH, lineEnvelopeSchema } from './line-schema.ts';

/** A line that passed validation, with what planning needs from it. */
export interface ValidRequest {
  readonly customId: string;
  readonly model: string;
  readonly body: Record<string, unknown>;
}

export type RequestLineResult =
  { readonly ok: true; readonly request: ValidRequest } | { readonly ok: false; readonly issues: RequestIssue[] };

export interface ValidateOptions {
  /** @default 512 */
  readonly maxCustomIdLength?: number;
}

const envelopes = new Map<number, ReturnType<typeof lineEnvelopeSchema>>();

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function issueFromZod(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): RequestIssue {
  const path = [...prefix, ...issue.path];
  const field = formatPath(path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join('", "');
    return {
      reason: prefix.length === 0 && path.length === 0 ? 'unknown_field' : 'invalid_body',
      field: field || 'line',
      message: `unexpected field "${keys}"`,
    };
  }
  const head = path[0];
  const reason =
    head === 'custom_id'
      ? 'invalid_custom_id'
      : head === 'method'
        ? 'invalid_method'
        : head === 'url'
          ? 'url_mismatch'
          : 'invalid_body';
  return { reason, field, message: `${field} ${issue.message}` };
}

/**
 * Validates one request line against the job's endpoint: JSON object, `custom_id`, `method`,
 * `url`, and the body's shape for that endpoint. Job-wide rules (unique ids, one model, sizes)
 * are the planner's.
 */
export function validateRequestLine(
  text: string,
  endpoint: BatchEndpoint,
  options: ValidateOptions = {},
): RequestLineResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ reason: 'invalid_json', message: `not valid JSON (${(err as Error).message})` }] };
  }
  const maxLen = options.maxCustomIdLength ?? DEFAULT_MAX_CUSTOM_ID_LENGTH;
  const request = fastCheckRequest(value, endpoint, maxLen);
  return request ? { ok: true, request } : validateWithSchemas(value, endpoint, maxLen);
}

/**
 * The zod path for a parsed line: the judge of every line the fast checks cannot vouch for, and
 * the source of every message. Exported for the tests that compare both paths.
 */
export function validateWithSchemas(value: unknown, endpoint: BatchEndpoint, maxLen: number): RequestLineResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issues: [
        {
          reason: 'not_an_object',
          message: `the line is ${Array.isArray(value) ? 'an array' : typeof value}, not a JSON object`,
        },
      ],
    };
  }
  let envelope = envelopes.get(maxLen);
  if (!envelope) envelopes.set(maxLen, (envelope = lineEnvelopeSchema(maxLen)));
  const parsed = envelope.safeParse(value);
  const issues: RequestIssue[] = parsed.success ? [] : parsed.error.issues.map((i) => issueFromZod(i, []));
  const line = value as Record<string, unknown>;
  if (typeof line['url'] === 'string' && line['url'] !== endpoint) {
    issues.push({
      reason: 'url_mismatch',
      field: 'url',
      message: `url is "${line['url']}" but the job's endpoint is "${endpoint}"`,
    });
  }
  const body = line['body'];
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const bodyResult = BODY_SCHEMAS[endpoint].safeParse(body);
    if (!bodyResult.success) issues.push(...bodyResult.error.issues.map((i) => issueFromZod(i, ['body'])));
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  const b = parsed.data.body;
  const model = typeof b['model'] === 'string' ? b['model'] : DEFAULT_MODERATION_MODEL;
  return { ok: true, request: { customId: parsed.data.custom_id, model, body: b } };
}
