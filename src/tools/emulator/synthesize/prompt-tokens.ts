import { countTokens } from 'gpt-tokenizer';

type Json = unknown;

/** Text of a chat/responses message `content`: a string or a list of parts with `text`. */
function contentText(content: Json): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: Json) =>
        part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '',
      )
      .join('\n');
  }
  return '';
}

function count(text: string): number {
  return text.length === 0 ? 0 : countTokens(text);
}

/**
 * Prompt tokens of one request body, counted with the o200k tokenizer the current models use.
 * Chat adds OpenAI's documented per-message overhead (3 tokens a message, 3 to prime the reply).
 */
export function promptTokens(endpoint: string, body: Record<string, Json>): number {
  switch (endpoint) {
    case '/v1/chat/completions': {
      const messages = Array.isArray(body.messages) ? body.messages : [];
      let total = 3;
      for (const message of messages as Json[]) {
        const m = (message ?? {}) as Record<string, Json>;
        total += 3 + count(contentText(m.content)) + (typeof m.name === 'string' ? 1 + count(m.name) : 0);
      }
      return total;
    }
    case '/v1/responses': {
      let total = typeof body.instructions === 'string' ? count(body.instructions) + 3 : 0;
      if (typeof body.input === 'string') return total + count(body.input) + 3;
      for (const item of Array.isArray(body.input) ? (body.input as Json[]) : []) {
        total += 3 + count(contentText((item as Record<string, Json> | null)?.content));
      }
      return total;
    }
    case '/v1/embeddings':
    case '/v1/completions':
    case '/v1/moderations':
      return inputTexts(body[endpoint === '/v1/completions' ? 'prompt' : 'input']).reduce<number>(
        (sum, item) => sum + (typeof item === 'string' ? count(item) : item),
        0,
      );
    default:
      return 0;
  }
}

/**
 * The separate inputs of an embeddings/completions/moderations request: strings, or token counts
 * for inputs already given as token arrays.
 */
export function inputTexts(input: Json): (string | number)[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) return [];
  if (input.length > 0 && input.every((x) => typeof x === 'number')) return [input.length];
  return (input as Json[]).map((item) => {
    if (typeof item === 'string') return item;
    if (Array.isArray(item)) return item.length;
    if (item && typeof item === 'object' && 'text' in item && typeof item.text === 'string') return item.text;
    return '';
  });
}

/** Tokens of generated text, for `usage`. */
export function textTokens(text: string): number {
  return count(text);
}
