import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { FAILURE_TYPES } from '../../common/failures.ts';

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
  const { baseURL, defaultQuery } = splitBaseUrl(config.baseURL ?? process.env['OPENAI_BASE_URL']);
  const apiKey = config.apiKey || process.env['OPENAI_API_KEY'] || undefined;
  // Without either, the worker would call api.openai.com with no key: refuse at once, fatal for the job.
  if (!apiKey && !baseURL)
    throw ApplicationFailure.create({ message: NO_OPENAI_MESSAGE, type: FAILURE_TYPES.auth, nonRetryable: true });
  return new OpenAI({
    // The emulator accepts any key; the SDK refuses to start without one.
    apiKey: apiKey ?? 'no-key-configured',
    baseURL: baseURL ?? null,
    ...(defaultQuery ? { defaultQuery } : {}),
    maxRetries: 0,
    timeout: config.timeoutMs ?? 600_000,
  });
}

/**
 * A base URL as the SDK needs it. Its query (a gateway's `?api-version=` or `?api-key=`) becomes
 * the SDK's `defaultQuery`, sent with every request instead of pasted before each path. A user
 * name or password in it is refused: fetch rejects such a URL with an error quoting it whole, and
 * that error would reach workflow history and the worker's log. The refusal never quotes the URL.
 */
export function splitBaseUrl(value: string | undefined): { baseURL?: string; defaultQuery?: Record<string, string> } {
  if (!value) return {};
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configFailure(INVALID_BASE_URL_MESSAGE);
  }
  if (url.username || url.password) {
    throw configFailure(CREDENTIALS_IN_BASE_URL_MESSAGE);
  }
  const query = Object.fromEntries(url.searchParams);
  url.search = '';
  url.hash = '';
  const baseURL = url.href.replace(/\/$/, value.replace(/[?#].*$/, '').endsWith('/') ? '/' : '');
  return Object.keys(query).length > 0 ? { baseURL, defaultQuery: query } : { baseURL };
}

const NO_OPENAI_MESSAGE =
  "The worker has no OpenAI API key and no base URL: set OPENAI_API_KEY (or the plugin's openaiApiKey) " +
  'on the worker to use OpenAI, or OPENAI_BASE_URL (openaiBaseUrl) to a compatible service or to the ' +
  'local emulator (`openai-batch emulator`, or `openai-batch dev`, which starts one).';

const INVALID_BASE_URL_MESSAGE =
  'The OpenAI base URL (OPENAI_BASE_URL or openaiBaseUrl) is not a valid URL; ' +
  'set it to e.g. https://api.openai.com/v1.';

const CREDENTIALS_IN_BASE_URL_MESSAGE =
  'The OpenAI base URL (OPENAI_BASE_URL or openaiBaseUrl) contains a user name or password; ' +
  'remove them from the URL and pass credentials as the API key (OPENAI_API_KEY), ' +
  'or give the plugin a ready `openai` client with the headers your gateway needs.';

function configFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FAILURE_TYPES.config, nonRetryable: true });
}
