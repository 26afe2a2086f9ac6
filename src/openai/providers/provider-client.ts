import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { FAILURE_TYPES } from '../../../common/failures.ts';
import { createOpenAIClient } from '../client.ts';
import { createAzureClient } from './azure-client.ts';
import type { ProviderProfile } from './provider-profile.ts';

/** Azure OpenAI settings of a worker (plugin option `azure`). Never part of workflow input. */
export interface AzureProviderOptions {
  /** A dated API version (`2025-03-01-preview`); unset, the v1 API (`/openai/v1`). @default process.env.OPENAI_API_VERSION */
  readonly apiVersion?: string | undefined;
  /**
   * Entra ID instead of a key: returns an access token for each request, e.g.
   * `getBearerTokenProvider(new DefaultAzureCredential(), 'https://cognitiveservices.azure.com/.default')`
   * from `@azure/identity`. @default undefined (key auth)
   */
  readonly azureADTokenProvider?: (() => Promise<string>) | undefined;
  /**
   * The resource's Global-Batch / Data-Zone-Batch deployment names; a job whose `model` is none of
   * them is refused before any upload. @default process.env.OPENAI_BATCH_AZURE_DEPLOYMENTS (comma-separated), else unchecked
   */
  readonly batchDeployments?: readonly string[] | undefined;
}

/** What the worker knows of where its batches go. */
export interface ProviderClientConfig {
  readonly apiKey?: string | undefined;
  readonly baseURL?: string | undefined;
  readonly azure?: AzureProviderOptions | undefined;
}

/**
 * The client for the provider: Azure's (v1 or dated API, key or Entra ID) for `azure`, OpenAI's
 * otherwise (Groq and compatible services speak OpenAI's paths and Bearer auth). A configuration
 * that cannot work is a non-retryable config failure with one line.
 */
export function createProviderClient(profile: ProviderProfile, config: ProviderClientConfig): OpenAI {
  if (profile.name !== 'azure') return createOpenAIClient({ apiKey: config.apiKey, baseURL: config.baseURL });
  const baseURL = config.baseURL ?? process.env['OPENAI_BASE_URL'] ?? process.env['AZURE_OPENAI_ENDPOINT'];
  try {
    if (!baseURL)
      throw new Error(
        'the provider is Azure OpenAI but no base URL is set: set OPENAI_BASE_URL (or openaiBaseUrl) to ' +
          'https://<resource>.openai.azure.com/openai/v1.',
      );
    const tokenProvider = config.azure?.azureADTokenProvider;
    return createAzureClient({
      baseURL,
      apiKey: tokenProvider ? undefined : config.apiKey || process.env['AZURE_OPENAI_API_KEY'] || undefined,
      apiVersion: config.azure?.apiVersion ?? process.env['OPENAI_API_VERSION'],
      azureADTokenProvider: tokenProvider,
    });
  } catch (err) {
    throw ApplicationFailure.create({
      message: (err as Error).message,
      type: FAILURE_TYPES.config,
      nonRetryable: true,
    });
  }
}

/** The batch deployments a worker was told of, from the option or `OPENAI_BATCH_AZURE_DEPLOYMENTS`. */
export function batchDeploymentsOf(azure: AzureProviderOptions | undefined): readonly string[] | undefined {
  const named = azure?.batchDeployments ?? process.env['OPENAI_BATCH_AZURE_DEPLOYMENTS']?.split(',');
  const names = named?.map((n) => n.trim()).filter(Boolean);
  return names && names.length > 0 ? names : undefined;
}
