import type { TokenUsage } from '../cost/index.ts';
import type { BatchEndpoint } from '../requests/index.ts';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Token usage from a response body, for chat, responses, completions and embeddings shapes. */
export function usageFromBody(body: unknown): TokenUsage | null {
  const u = body && typeof body === 'object' ? (body as Record<string, unknown>)['usage'] : undefined;
  if (!u || typeof u !== 'object') return null;
  const usage = u as Record<string, Record<string, unknown> | number | undefined>;
  const inDetails = (usage['prompt_tokens_details'] ?? usage['input_tokens_details']) as
    Record<string, unknown> | undefined;
  const outDetails = (usage['completion_tokens_details'] ?? usage['output_tokens_details']) as
    Record<string, unknown> | undefined;
  return {
    input: num(usage['prompt_tokens'] ?? usage['input_tokens']),
    cachedInput: num(inDetails?.['cached_tokens']),
    output: num(usage['completion_tokens'] ?? usage['output_tokens']),
    reasoning: num(outDetails?.['reasoning_tokens']),
  };
}

/** The model's text answer (chat: first choice; responses: all output_text parts), or a refusal. */
export function answerText(body: unknown, endpoint: BatchEndpoint): { text?: string; refusal?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (endpoint === '/v1/chat/completions') {
    const message = (b['choices'] as { message?: { content?: unknown; refusal?: unknown } }[] | undefined)?.[0]
      ?.message;
    if (typeof message?.refusal === 'string') return { refusal: message.refusal };
    return typeof message?.content === 'string' ? { text: message.content } : {};
  }
  if (endpoint === '/v1/responses') {
    let text = '';
    for (const item of (b['output'] as
      { content?: { type?: string; text?: string; refusal?: string }[] }[] | undefined) ?? []) {
      for (const part of item.content ?? []) {
        if (part.type === 'refusal' && typeof part.refusal === 'string') return { refusal: part.refusal };
        if (part.type === 'output_text' && typeof part.text === 'string') text += part.text;
      }
    }
    return { text };
  }
  return {};
}
