import { DEFAULT_MODERATION_MODEL, MAX_INPUTS_PER_EMBEDDING_REQUEST } from './body-schemas.ts';
import type { BatchEndpoint } from './endpoints.ts';
import type { ValidRequest } from './validate-request-line.ts';

/*
 * Hand-written checks for the common, valid request line: about 50x cheaper than the zod schemas,
 * which planning otherwise runs on every line. They answer only "certainly valid" (the request) or
 * "not sure" (undefined); the caller then runs the zod schemas, which decide and word the problem.
 * So every line these accept, the schemas accept too (test/unit/requests-fast-check.test.ts), and
 * messages always come from zod. Rare shapes (token-id inputs) are left to zod on purpose.
 */

type Json = Record<string, unknown>;

const CHAT_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const nonEmptyString = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
// `stream` must be absent or false; JSON has no undefined, so "absent" is the only other case.
const noStream = (b: Json): boolean => !('stream' in b) || b['stream'] === false;

function chatContentOk(content: unknown): boolean {
  if (typeof content === 'string' || content === null || content === undefined) return true;
  if (!Array.isArray(content)) return false;
  for (const part of content) if (!isObject(part) || typeof part['type'] !== 'string') return false;
  return true;
}

function chatBodyOk(b: Json): boolean {
  const messages = b['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const m of messages) {
    if (!isObject(m) || typeof m['role'] !== 'string' || !CHAT_ROLES.has(m['role'])) return false;
    if ('content' in m && !chatContentOk(m['content'])) return false;
  }
  return noStream(b);
}

function responsesBodyOk(b: Json): boolean {
  const input = b['input'];
  if (Array.isArray(input)) {
    if (input.length === 0) return false;
    for (const item of input) if (!isObject(item)) return false;
  } else if (!nonEmptyString(input)) return false;
  return noStream(b);
}

function embeddingsBodyOk(b: Json): boolean {
  const input = b['input'];
  if (!Array.isArray(input)) return nonEmptyString(input);
  if (input.length === 0 || input.length > MAX_INPUTS_PER_EMBEDDING_REQUEST) return false;
  for (const s of input) if (!nonEmptyString(s)) return false;
  return true;
}

function completionsBodyOk(b: Json): boolean {
  const prompt = b['prompt'];
  if (Array.isArray(prompt)) {
    for (const s of prompt) if (typeof s !== 'string') return false;
  } else if (typeof prompt !== 'string') return false;
  return noStream(b);
}

function moderationsBodyOk(b: Json): boolean {
  if ('model' in b && !nonEmptyString(b['model'])) return false;
  const input = b['input'];
  return Array.isArray(input) ? input.length > 0 : nonEmptyString(input);
}

const BODY_OK: Record<BatchEndpoint, (b: Json) => boolean> = {
  '/v1/chat/completions': chatBodyOk,
  '/v1/responses': responsesBodyOk,
  '/v1/embeddings': embeddingsBodyOk,
  '/v1/completions': completionsBodyOk,
  '/v1/moderations': moderationsBodyOk,
};

/**
 * The parsed line as a valid request when the hand-written checks can vouch for it, else undefined
 * (which means "ask zod", not "invalid").
 */
export function fastCheckRequest(
  value: unknown,
  endpoint: BatchEndpoint,
  maxCustomIdLength: number,
): ValidRequest | undefined {
  if (!isObject(value)) return undefined;
  let keys = 0;
  for (const key in value) {
    if (key !== 'custom_id' && key !== 'method' && key !== 'url' && key !== 'body') return undefined;
    keys++;
  }
  if (keys !== 4) return undefined;
  const customId = value['custom_id'];
  if (typeof customId !== 'string' || customId.length === 0 || customId.length > maxCustomIdLength) return undefined;
  if (value['method'] !== 'POST' || value['url'] !== endpoint) return undefined;
  const body = value['body'];
  // zod copies the body into a new object, where an own "__proto__" key would act differently.
  if (!isObject(body) || Object.hasOwn(body, '__proto__')) return undefined;
  const model = body['model'];
  if (endpoint !== '/v1/moderations' && !nonEmptyString(model)) return undefined;
  if (!BODY_OK[endpoint](body)) return undefined;
  return { customId, model: typeof model === 'string' ? model : DEFAULT_MODERATION_MODEL, body };
}
