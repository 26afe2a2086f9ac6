import type { SeededRandom } from '../seeded-random.ts';
import { textTokens } from './prompt-tokens.ts';
import { sentence } from './text-generator.ts';

/** A deterministic reply of 8 to 40 words, cut to `maxTokens` when the request sets a limit. */
export function replyText(random: SeededRandom, maxTokens: number | undefined): { text: string; truncated: boolean } {
  const text = sentence(random, random.int(8, 40));
  if (maxTokens === undefined || textTokens(text) <= maxTokens) return { text, truncated: false };
  const words = text.split(' ');
  while (words.length > 1 && textTokens(words.join(' ')) > maxTokens) words.pop();
  return { text: words.join(' '), truncated: true };
}
