import { sampleFromSchema } from './json-schema-sample.ts';
import { promptTokens, textTokens } from './prompt-tokens.ts';
import { isReasoningModel, missingParameter, type RowResult, type SynthesisContext } from './row-result.ts';
import { replyText } from './reply-text.ts';

/** A `chat.completion` body; a `json_schema` response format gets content that conforms to it. */
export function chatCompletion(body: Record<string, unknown>, ctx: SynthesisContext): RowResult {
  if (typeof body.model !== 'string') return missingParameter('model');
  if (!Array.isArray(body.messages) || body.messages.length === 0) return missingParameter('messages');
  const model = body.model;
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.min(Math.floor(body.n), 8) : 1;
  const limit = numberOr(body.max_completion_tokens, body.max_tokens);
  const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  const reasoning = isReasoningModel(model) ? ctx.random.int(16, 128) : 0;
  let output = 0;
  const choices = Array.from({ length: n }, (_, index) => {
    const reply =
      format?.type === 'json_schema'
        ? { text: JSON.stringify(sampleFromSchema(format.json_schema?.schema ?? {}, ctx.random)), truncated: false }
        : format?.type === 'json_object'
          ? { text: JSON.stringify({ answer: replyText(ctx.random, undefined).text }), truncated: false }
          : replyText(ctx.random, limit);
    output += textTokens(reply.text);
    return {
      index,
      message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: reply.truncated ? 'length' : 'stop',
    };
  });
  const input = promptTokens('/v1/chat/completions', body);
  const completion = output + reasoning;
  return {
    ok: true,
    usage: { input, cached: 0, output: completion, reasoning },
    body: {
      id: `chatcmpl-${ctx.digest.slice(0, 29)}`,
      object: 'chat.completion',
      created: ctx.createdSec,
      model,
      choices,
      usage: {
        prompt_tokens: input,
        completion_tokens: completion,
        total_tokens: input + completion,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoning,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_emulator',
    },
  };
}

function numberOr(...values: unknown[]): number | undefined {
  for (const v of values) if (typeof v === 'number' && v > 0) return Math.floor(v);
  return undefined;
}
