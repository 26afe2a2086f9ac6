import type { EmulatorConfig } from '../config.ts';
import { ApiError } from '../http/api-error.ts';
import { azureMissingApiVersion, azureNotFound } from './azure-errors.ts';

/**
 * The OpenAI path (`/v1/...`) a request's path stands for in the configured provider's URL
 * layout, or the error that service answers. OpenAI: unchanged. Azure: `/openai/v1/...` (the v1
 * API) and `/openai/...?api-version=` (the dated API); `/openai/deployments/...` is not found, as
 * Azure has no batches or files there. Groq: `/openai/v1/...`.
 */
export function providerPath(config: EmulatorConfig, method: string, path: string, url: URL): string {
  const provider = config.provider ?? 'openai';
  if (provider === 'openai') return path;
  if (provider === 'groq') {
    const rest = /^\/openai(\/v1\/.*)$/.exec(path)?.[1];
    if (rest) return rest;
    throw new ApiError(
      404,
      `Unknown request URL: ${method} ${path}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`,
      { code: 'unknown_url' },
    );
  }
  const v1 = /^\/openai(\/v1\/.*)$/.exec(path)?.[1];
  if (v1) return v1;
  const dated = /^\/openai(\/.*)$/.exec(path)?.[1];
  if (!dated || dated.split('/').includes('deployments')) throw azureNotFound();
  const version = url.searchParams.get('api-version');
  if (!version) throw azureMissingApiVersion();
  const accepted = config.azure?.apiVersions ?? [];
  if (accepted.length > 0 && !accepted.includes(version)) throw azureNotFound();
  return `/v1${dated}`;
}
