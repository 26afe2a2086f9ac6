import { promptTokens, textTokens } from './prompt-tokens.ts';
import { replyText } from './reply-text.ts';
import { missingParameter, type RowResult, type SynthesisContext } from './row-result.ts';

/** A legacy `text_completion` body. */
export function textCompletion(body: Record<string, unknown>, ctx: SynthesisContext): RowResult {
  if (typeof body.model !== 'string') return missingParameter('model');
  if (body.prompt === undefined) return missingParameter('prompt');
  // The legacy endpoint defaults max_tokens to 16.
  const reply = replyText(ctx.random, typeof body.max_tokens === 'number' ? body.max_tokens : 16);
  const input = promptTokens('/v1/completions', body);
  const output = textTokens(reply.text);
  return {
    ok: true,
    usage: { input, cached: 0, output, reasoning: 0 },
    body: {
      id: `cmpl-${ctx.digest.slice(0, 29)}`,
      object: 'text_completion',
      created: ctx.createdSec,
      model: body.model,
      choices: [{ text: reply.text, index: 0, logprobs: null, finish_reason: reply.truncated ? 'length' : 'stop' }],
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
      system_fingerprint: 'fp_emulator',
    },
  };
}
