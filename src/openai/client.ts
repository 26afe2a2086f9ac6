import OpenAI from 'openai';

/** How a worker reaches an OpenAI-compatible API. Never part of workflow input. */
export interface OpenAIClientConfig {
  /** API key. @default process.env.OPENAI_API_KEY */
  readonly apiKey?: string | undefined;
  /** Base URL, e.g. the emulator's. @default process.env.OPENAI_BASE_URL, else OpenAI's */
  readonly baseURL?: string | undefined;
  /** Per-request timeout in milliseconds. @default 600_000 */
  readonly timeoutMs?: number | undefined;
}

/**
 * The OpenAI client activities use: `maxRetries: 0`, because Temporal owns retries and a retry
 * stacked under them could create a second batch.
 */
export function createOpenAIClient(config: OpenAIClientConfig = {}): OpenAI {
  return new OpenAI({
    // The emulator accepts any key; the SDK refuses to start without one.
    apiKey: config.apiKey ?? process.env['OPENAI_API_KEY'] ?? 'no-key-configured',
    baseURL: config.baseURL ?? process.env['OPENAI_BASE_URL'] ?? null,
    maxRetries: 0,
    timeout: config.timeoutMs ?? 600_000,
  });
}
