import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function base62(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) % ALPHABET.length];
  return out;
}

/** A file id shaped like OpenAI's (`file-` and 22 base62 characters). */
export function newFileId(): string {
  return `file-${base62(randomBytes(22), 22)}`;
}

/** A batch id shaped like OpenAI's (`batch_` and 32 hex digits). */
export function newBatchId(): string {
  return `batch_${randomBytes(16).toString('hex')}`;
}

/** A request id for the `x-request-id` header. */
export function newRequestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

/** A stable id derived from its parts, for ids inside output files (re-generated identically). */
export function derivedId(prefix: string, ...parts: readonly (string | number)[]): string {
  return `${prefix}${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}
