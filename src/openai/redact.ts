/**
 * Anything shaped like an OpenAI API key, whole (`sk-proj-abc…`) or as OpenAI masks it in a 401
 * (`sk-proj-****abcd`). Word-bounded, so `risk-free` is left alone.
 */
const KEY_SHAPED = /\bsk-[\w*-]{3,}/g;

/** What a key-shaped string becomes. */
export const REDACTED_KEY = 'sk-…(redacted)';

/** `text` with every key-shaped string replaced, so no key (even masked) reaches history or files. */
export function redactKeys(text: string): string {
  return text.replace(KEY_SHAPED, REDACTED_KEY);
}

/**
 * Redacts the key-shaped strings of an error in place: its message, stack and, for an OpenAI
 * `APIError`, the parsed body's message. It stays the same object (the mapped failure's cause).
 */
export function redactErrorInPlace(err: Error): void {
  err.message = redactKeys(err.message);
  if (err.stack) err.stack = redactKeys(err.stack);
  const body = (err as { error?: unknown }).error;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    (body as { message: string }).message = redactKeys((body as { message: string }).message);
  }
}
