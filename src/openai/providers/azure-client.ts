import OpenAI, { AzureOpenAI } from 'openai';
import { inferProvider } from './choose-provider.ts';

/** How a worker reaches Azure OpenAI's Batch API. Never part of workflow input. */
export interface AzureClientConfig {
  /**
   * The resource (`https://<name>.openai.azure.com`), its `/openai` path (the dated API, with
   * `apiVersion`) or its `/openai/v1` path (the v1 API). A query `?api-version=` counts as `apiVersion`.
   */
  readonly baseURL: string;
  /** The resource key, sent as the `api-key` header. Exclusive with `azureADTokenProvider`. */
  readonly apiKey?: string | undefined;
  /** A dated API version (`2025-03-01-preview`): calls go to `/openai/...?api-version=`. @default the v1 API */
  readonly apiVersion?: string | undefined;
  /** Returns a Microsoft Entra ID access token for each request (e.g. `@azure/identity`'s `getBearerTokenProvider`). */
  readonly azureADTokenProvider?: (() => Promise<string>) | undefined;
  /** Per-request timeout in milliseconds. @default 600_000 */
  readonly timeoutMs?: number | undefined;
}

/**
 * The client for Azure OpenAI's batches and files: `/openai/v1/...` (no api-version) or, with
 * `apiVersion`, `/openai/...?api-version=`. It never takes a deployment: `AzureOpenAI` puts
 * `/batches` under `/deployments/{d}` when given one, and Azure has no batches there.
 * `maxRetries: 0`: Temporal owns retries. Throws one line for a configuration that cannot work.
 */
export function createAzureClient(config: AzureClientConfig): OpenAI {
  let url: URL;
  try {
    url = new URL(config.baseURL);
  } catch {
    throw new Error(
      'the Azure OpenAI base URL (OPENAI_BASE_URL or openaiBaseUrl) is not a valid URL; set it to https://<resource>.openai.azure.com/openai/v1.',
    );
  }
  const apiVersion = config.apiVersion || url.searchParams.get('api-version') || undefined;
  url.search = '';
  url.hash = '';
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.includes('deployments')) throw new Error(DEPLOYMENT_IN_URL_MESSAGE);
  const auth = azureAuth(config);
  const common = { maxRetries: 0, timeout: config.timeoutMs ?? 600_000 };
  const last2 = segments.slice(-2).join('/');
  const isV1 = last2 === 'openai/v1';
  if (apiVersion && !isV1) {
    // The bare resource gets Azure's `/openai` path; a gateway's own path is kept as it is.
    if (segments.length === 0) url.pathname = '/openai';
    return new AzureOpenAI({ baseURL: url.href.replace(/\/$/, ''), apiVersion, ...auth, ...common });
  }
  if (apiVersion && isV1)
    throw new Error(
      'the Azure OpenAI base URL is the v1 API (/openai/v1), which takes no api-version; ' +
        'unset apiVersion (OPENAI_API_VERSION), or end the base URL at /openai to use the dated API.',
    );
  if (segments.length === 0) url.pathname = '/openai/v1';
  if (segments.length > 0 && segments.at(-1) === 'openai')
    throw new Error(
      'the Azure OpenAI base URL ends at /openai (the dated API) but no api-version is set; ' +
        'set azure.apiVersion (or OPENAI_API_VERSION), or end the base URL at /openai/v1 for the v1 API.',
    );
  const baseURL = url.href.replace(/\/$/, '');
  if (auth.azureADTokenProvider) return new OpenAI({ baseURL, apiKey: auth.azureADTokenProvider, ...common });
  // The key goes in Azure's `api-key` header, as AzureOpenAI sends it; the Bearer header the SDK
  // builds from `apiKey` is removed (the SDK redacts `api-key` in its debug log).
  return new OpenAI({
    baseURL,
    apiKey: auth.apiKey ?? null,
    defaultHeaders: { 'api-key': auth.apiKey ?? null, Authorization: null },
    ...common,
  });
}

function azureAuth(config: AzureClientConfig): { apiKey?: string; azureADTokenProvider?: () => Promise<string> } {
  if (config.apiKey && config.azureADTokenProvider)
    throw new Error(
      'Azure OpenAI takes a key (OPENAI_API_KEY, AZURE_OPENAI_API_KEY or openaiApiKey) or an Entra ID ' +
        'token provider (azure.azureADTokenProvider), not both; remove one of them.',
    );
  if (config.azureADTokenProvider) return { azureADTokenProvider: config.azureADTokenProvider };
  if (config.apiKey) return { apiKey: config.apiKey };
  throw new Error(
    'Azure OpenAI needs a key or a token: set OPENAI_API_KEY (or AZURE_OPENAI_API_KEY, or the ' +
      "plugin's openaiApiKey) to the resource key, or pass azure.azureADTokenProvider for Entra ID.",
  );
}

export const DEPLOYMENT_IN_URL_MESSAGE =
  'the Azure OpenAI base URL has a /deployments/ segment, but Azure serves batches and files only ' +
  'at the resource level (/openai/v1 or /openai): end the base URL at /openai/v1 and put the ' +
  "Global-Batch deployment name in each line's model.";

export const DEPLOYMENT_ON_CLIENT_MESSAGE =
  'the plugin was given an AzureOpenAI client with a `deployment`, which sends batches to ' +
  '/deployments/{deployment}/batches where Azure has none: construct it without `deployment` ' +
  "(each line's model names the Global-Batch deployment).";

/** Refuses a ready client that would send batches under `/deployments/{d}` (see {@link DEPLOYMENT_ON_CLIENT_MESSAGE}). */
export function checkReadyClient(client: OpenAI): void {
  const deployment = (client as { deploymentName?: unknown }).deploymentName;
  if (typeof deployment === 'string' && deployment !== '') throw new Error(DEPLOYMENT_ON_CLIENT_MESSAGE);
  let path: string;
  try {
    path = new URL(client.baseURL).pathname;
  } catch {
    return;
  }
  if (
    path.split('/').includes('deployments') &&
    (client instanceof AzureOpenAI || inferProvider(client.baseURL) === 'azure')
  )
    throw new Error(DEPLOYMENT_IN_URL_MESSAGE);
}
