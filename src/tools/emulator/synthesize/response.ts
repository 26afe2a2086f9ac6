import { sampleFromSchema } from './json-schema-sample.ts';
import { promptTokens, textTokens } from './prompt-tokens.ts';
import { replyText } from './reply-text.ts';
import { isReasoningModel, missingParameter, type RowResult, type SynthesisContext } from './row-result.ts';

/** A `/v1/responses` body with one assistant message; `text.format` json_schema is honoured. */
export function responseObject(body: Record<string, unknown>, ctx: SynthesisContext): RowResult {
  if (typeof body.model !== 'string') return missingParameter('model');
  if (body.input === undefined) return missingParameter('input');
  const model = body.model;
  const format = (body.text as { format?: { type?: string; schema?: unknown } } | undefined)?.format;
  const limit = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined;
  const reply =
    format?.type === 'json_schema'
      ? { text: JSON.stringify(sampleFromSchema(format.schema ?? {}, ctx.random)), truncated: false }
      : replyText(ctx.random, limit);
  const reasoning = isReasoningModel(model) ? ctx.random.int(16, 128) : 0;
  const input = promptTokens('/v1/responses', body);
  const output = textTokens(reply.text) + reasoning;
  return {
    ok: true,
    usage: { input, cached: 0, output, reasoning },
    body: {
      id: `resp_${ctx.digest.slice(0, 48)}`,
      object: 'response',
      created_at: ctx.createdSec,
      status: reply.truncated ? 'incomplete' : 'completed',
      completed_at: ctx.createdSec,
      background: false,
      error: null,
      incomplete_details: reply.truncated ? { reason: 'max_output_tokens' } : null,
      instructions: typeof body.instructions === 'string' ? body.instructions : null,
      max_output_tokens: limit ?? null,
      max_tool_calls: null,
      model,
      output: [
        {
          id: `msg_${ctx.digest.slice(0, 48)}`,
          type: 'message',
          status: reply.truncated ? 'incomplete' : 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      temperature: typeof body.temperature === 'number' ? body.temperature : 1,
      text: { format: format ?? { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: typeof body.top_p === 'number' ? body.top_p : 1,
      truncation: 'disabled',
      usage: {
        input_tokens: input,
        input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        output_tokens: output,
        output_tokens_details: { reasoning_tokens: reasoning },
        total_tokens: input + output,
      },
      user: null,
      metadata: body.metadata ?? {},
    },
  };
}
