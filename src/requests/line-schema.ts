import { z } from 'zod';

/** OpenAI does not publish a custom_id limit; 512 matches its metadata values (Together caps at 64). */
export const DEFAULT_MAX_CUSTOM_ID_LENGTH = 512;

/** The envelope of one request line; the body is checked per endpoint. */
export function lineEnvelopeSchema(maxCustomIdLength: number) {
  return z.strictObject(
    {
      custom_id: z
        .string({ error: 'must be a string' })
        .min(1, 'must not be empty')
        .max(maxCustomIdLength, `must be at most ${maxCustomIdLength} characters`),
      method: z.literal('POST', { error: 'must be "POST"' }),
      url: z.string({ error: 'must be the endpoint path as a string' }),
      body: z.record(z.string(), z.unknown(), { error: 'must be a JSON object with the request parameters' }),
    },
    // Unknown keys would be silently ignored by OpenAI at best; name them so the author can fix them.
    { error: 'must be a JSON object' },
  );
}
