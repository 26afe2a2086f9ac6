import { z } from 'zod';
import type { BatchEndpoint } from './endpoints.ts';

// Bodies are loose objects: OpenAI adds parameters often, and the API itself rejects unknown ones
// per row. We check what decides whether the batch can be planned and run at all.
const model = z.string({ error: 'must be a model name (string)' }).min(1, 'must not be empty');
const noStream = z
  .union([z.literal(false), z.undefined()], {
    error: 'streaming is not supported in batches; remove "stream" or set it to false',
  })
  .optional();
const tokenIds = z.array(z.number().int().nonnegative());

const chatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function'], {
    error: 'must be one of system, developer, user, assistant, tool, function',
  }),
  content: z
    .union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()], {
      error: 'must be a string, an array of content parts, or null',
    })
    .optional(),
});

const chatBody = z.looseObject({
  model,
  messages: z.array(chatMessage, { error: 'must be an array of messages' }).min(1, 'must contain at least one message'),
  stream: noStream,
});

const responsesBody = z.looseObject({
  model,
  input: z.union([z.string().min(1, 'must not be empty'), z.array(z.looseObject({})).min(1, 'must not be empty')], {
    error: 'must be a string or an array of input items',
  }),
  stream: noStream,
});

/** OpenAI caps one embeddings request at 2,048 inputs. */
export const MAX_INPUTS_PER_EMBEDDING_REQUEST = 2048;

const embeddingsBody = z
  .looseObject({
    model,
    input: z.union(
      [
        z.string().min(1, 'must not be empty'),
        z.array(z.string().min(1, 'must not contain empty strings')).min(1, 'must not be empty'),
        tokenIds.min(1),
        z.array(tokenIds.min(1)).min(1),
      ],
      { error: 'must be a string, an array of strings, or token arrays' },
    ),
  })
  .refine(
    (b) =>
      !Array.isArray(b.input) || typeof b.input[0] === 'number' || b.input.length <= MAX_INPUTS_PER_EMBEDDING_REQUEST,
    {
      // Checked outside the union so the message says what is wrong rather than "matches no shape".
      message: `must hold at most ${MAX_INPUTS_PER_EMBEDDING_REQUEST} inputs per request`,
      path: ['input'],
    },
  );

const completionsBody = z.looseObject({
  model,
  prompt: z.union([z.string(), z.array(z.string()), tokenIds, z.array(tokenIds)], {
    error: 'must be a string, an array of strings, or token arrays',
  }),
  stream: noStream,
});

const moderationsBody = z.looseObject({
  model: model.optional(),
  input: z.union([z.string().min(1, 'must not be empty'), z.array(z.unknown()).min(1, 'must not be empty')], {
    error: 'must be a string or an array of inputs',
  }),
});

/** The zod schema each endpoint's request `body` must satisfy. */
export const BODY_SCHEMAS: Record<BatchEndpoint, z.ZodType<Record<string, unknown>>> = {
  '/v1/chat/completions': chatBody,
  '/v1/responses': responsesBody,
  '/v1/embeddings': embeddingsBody,
  '/v1/completions': completionsBody,
  '/v1/moderations': moderationsBody,
};

/** Moderations may omit `model`; the API then uses this one, so the job's model is known anyway. */
export const DEFAULT_MODERATION_MODEL = 'omni-moderation-latest';
