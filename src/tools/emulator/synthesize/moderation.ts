import { inputTexts, promptTokens } from './prompt-tokens.ts';
import { missingParameter, type RowResult, type SynthesisContext } from './row-result.ts';

const CATEGORIES = [
  'hate',
  'hate/threatening',
  'harassment',
  'harassment/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

/** A moderation result per input, all low scores, nothing flagged. */
export function moderation(body: Record<string, unknown>, ctx: SynthesisContext): RowResult {
  const inputs = inputTexts(body.input);
  if (inputs.length === 0) return missingParameter('input');
  const model = typeof body.model === 'string' ? body.model : 'omni-moderation-latest';
  const results = inputs.map(() => ({
    flagged: false,
    categories: Object.fromEntries(CATEGORIES.map((c) => [c, false])),
    category_scores: Object.fromEntries(CATEGORIES.map((c) => [c, Math.round(ctx.random.next() * 1e6) / 1e8])),
    category_applied_input_types: Object.fromEntries(CATEGORIES.map((c) => [c, ['text']])),
  }));
  const tokens = promptTokens('/v1/moderations', body);
  return {
    ok: true,
    usage: { input: tokens, cached: 0, output: 0, reasoning: 0 },
    body: { id: `modr-${ctx.digest.slice(0, 29)}`, model, results },
  };
}
