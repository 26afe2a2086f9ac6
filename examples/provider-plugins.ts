import type { OpenAIBatchPluginOptions } from '../src/index.ts';

/** Azure OpenAI, v1 API, resource key: `baseURL` is `https://<resource>.openai.azure.com/openai/v1`. */
export function azureKeyPlugin(baseURL: string, apiKey: string): OpenAIBatchPluginOptions {
  return { provider: 'azure', openaiBaseUrl: baseURL, openaiApiKey: apiKey };
}

/**
 * Azure OpenAI, dated API, Entra ID: `baseURL` is `https://<resource>.openai.azure.com/openai`;
 * `getToken` is e.g. @azure/identity's getBearerTokenProvider over a DefaultAzureCredential, for
 * the scope https://cognitiveservices.azure.com/.default.
 */
export function azureEntraPlugin(baseURL: string, getToken: () => Promise<string>): OpenAIBatchPluginOptions {
  return {
    provider: 'azure',
    openaiBaseUrl: baseURL,
    azure: { apiVersion: '2025-03-01-preview', azureADTokenProvider: getToken, batchDeployments: ['gpt-4o-batch'] },
  };
}

/** Groq: `baseURL` is `https://api.groq.com/openai/v1`; chat completions only. */
export function groqPlugin(baseURL: string, apiKey: string): OpenAIBatchPluginOptions {
  return { provider: 'groq', openaiBaseUrl: baseURL, openaiApiKey: apiKey };
}

/** Any other OpenAI-shaped batch service: inferred as `compatible` from its base URL. */
export function compatiblePlugin(baseURL: string, apiKey: string): OpenAIBatchPluginOptions {
  return { openaiBaseUrl: baseURL, openaiApiKey: apiKey };
}
