import type { BatchEndpoint } from './endpoints.ts';

/** What the token estimate needs from a body: prompt text, and tokens already known as ids. */
export interface PromptParts {
  readonly texts: string[];
  /** Tokens counted without a tokenizer: token-id inputs and per-message framing. */
  readonly fixedTokens: number;
}

// OpenAI's cookbook counts 3 framing tokens per chat message and 3 to prime the reply.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_REPLY_PRIMING = 3;

function pushContent(content: unknown, texts: string[]): void {
  if (typeof content === 'string') texts.push(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part === 'string') texts.push(part);
      else if (part && typeof part === 'object') {
        const p = part as Record<string, unknown>;
        if (typeof p['text'] === 'string') texts.push(p['text']);
        else if (p['content'] !== undefined) pushContent(p['content'], texts);
      }
    }
  }
}

function tokenArrayTokens(input: unknown): number {
  if (!Array.isArray(input)) return 0;
  if (input.length > 0 && typeof input[0] === 'number') return input.length;
  let n = 0;
  for (const item of input) if (Array.isArray(item) && typeof item[0] === 'number') n += item.length;
  return n;
}

/** Collects the text the model reads as prompt (messages, input, prompt, instructions, tools). */
export function promptParts(body: Record<string, unknown>, endpoint: BatchEndpoint): PromptParts {
  const texts: string[] = [];
  let fixedTokens = 0;
  switch (endpoint) {
    case '/v1/chat/completions': {
      const messages = body['messages'] as Record<string, unknown>[];
      for (const m of messages) {
        fixedTokens += TOKENS_PER_MESSAGE;
        if (typeof m['name'] === 'string') texts.push(m['name']);
        pushContent(m['content'], texts);
      }
      fixedTokens += TOKENS_REPLY_PRIMING;
      break;
    }
    case '/v1/responses':
      if (typeof body['instructions'] === 'string') texts.push(body['instructions']);
      pushContent(body['input'], texts);
      break;
    case '/v1/embeddings':
    case '/v1/moderations':
      pushContent(body['input'], texts);
      fixedTokens += tokenArrayTokens(body['input']);
      break;
    case '/v1/completions':
      pushContent(body['prompt'], texts);
      fixedTokens += tokenArrayTokens(body['prompt']);
      break;
  }
  // Tool and schema definitions are prompt tokens too; their JSON is a close enough proxy.
  for (const key of ['tools', 'functions', 'response_format', 'text']) {
    if (body[key] !== undefined && typeof body[key] === 'object') texts.push(JSON.stringify(body[key]));
  }
  return { texts, fixedTokens };
}

/** How many embedding inputs a request carries (the per-batch 50,000-input limit counts these). */
export function embeddingInputCount(body: Record<string, unknown>): number {
  const input = body['input'];
  if (typeof input === 'string') return 1;
  if (!Array.isArray(input)) return 0;
  if (input.length > 0 && typeof input[0] === 'number') return 1;
  return input.length;
}

/** The request's own output cap, if it sets one: an upper bound for the output cost estimate. */
export function maxOutputTokens(body: Record<string, unknown>): number {
  for (const key of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = body[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  }
  return 0;
}
