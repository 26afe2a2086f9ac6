import OpenAI, { AzureOpenAI } from 'openai';
import { describe, expect, it } from 'vitest';
import { checkReadyClient, createAzureClient } from '../../src/openai/providers/azure-client.ts';
import { chooseProvider, inferProvider } from '../../src/openai/providers/choose-provider.ts';
import {
  checkBatchDeployment,
  checkEndpointOffered,
  providerChunkLimits,
  ProviderMismatchError,
} from '../../src/openai/providers/provider-checks.ts';
import { PROVIDER_PROFILES } from '../../src/openai/providers/provider-profile.ts';

const { azure, groq, openai, compatible } = PROVIDER_PROFILES;

describe('choosing the provider', () => {
  it('infers it from the base URL host', () => {
    expect(inferProvider('https://res.openai.azure.com/openai/v1')).toBe('azure');
    expect(inferProvider('https://res.cognitiveservices.azure.com/openai')).toBe('azure');
    expect(inferProvider('https://api.groq.com/openai/v1')).toBe('groq');
    expect(inferProvider('https://api.openai.com/v1')).toBe('openai');
    expect(inferProvider(undefined)).toBe('openai');
    expect(inferProvider('http://127.0.0.1:8787/v1')).toBe('compatible');
    // A look-alike host is not Azure.
    expect(inferProvider('https://openai.azure.com.evil.example/v1')).toBe('compatible');
  });

  it('a named provider wins over the URL, and an unknown name is one line naming the setting and the choices', () => {
    expect(chooseProvider('azure', 'http://127.0.0.1:1/v1').name).toBe('azure');
    expect(() => chooseProvider('azur', undefined)).toThrow(
      /^provider \(OPENAI_BATCH_PROVIDER or the plugin's provider\) is "azur"; set it to one of openai, azure, groq, compatible/,
    );
  });

  it('states Azure as no 24 h expiry, 100,000 requests, a 500-file cap, api-key or Entra auth', () => {
    expect(azure).toMatchObject({
      expiresAfter24h: false,
      limits: { maxRequests: 100_000 },
      inputFileCap: { withoutExpiry: 500, withExpiry: 10_000 },
      auth: 'api-key-or-entra',
    });
    expect(openai.expiresAfter24h).toBe(true);
    expect(groq.endpoints).toEqual(['/v1/chat/completions']);
  });
});

describe('checks before submission', () => {
  it('refuses an endpoint the provider does not offer, naming it and what it offers', () => {
    expect(() => checkEndpointOffered(groq, '/v1/embeddings')).toThrow(ProviderMismatchError);
    expect(() => checkEndpointOffered(groq, '/v1/embeddings')).toThrow(
      "endpoint /v1/embeddings is not offered by Groq's Batch API (it offers /v1/chat/completions)",
    );
    expect(() => checkEndpointOffered(compatible, '/v1/embeddings')).not.toThrow();
  });

  it("fills the provider's limits as defaults, lets explicit ones win, and refuses one above the provider's", () => {
    expect(providerChunkLimits(azure, undefined)).toEqual({ maxRequests: 100_000, maxEmbeddingInputs: 50_000 });
    expect(providerChunkLimits(azure, { maxRequests: 10 })).toMatchObject({ maxRequests: 10 });
    expect(providerChunkLimits(openai, undefined)).toEqual({ maxRequests: 50_000, maxEmbeddingInputs: 50_000 });
    expect(() => providerChunkLimits(openai, { maxRequests: 60_000 })).toThrow(
      'limits.maxRequests is 60000 but OpenAI accepts at most 50000 per batch; lower limits.maxRequests or leave it unset',
    );
    expect(() => providerChunkLimits(azure, { maxBytes: 300 * 1024 * 1024 })).toThrow(/^limits\.maxBytes is 314572800/);
  });

  it("refuses a model that is not among Azure's batch deployments, when the worker knows them", () => {
    expect(() => checkBatchDeployment(azure, 'gpt-4o', ['gpt-4o-batch'])).toThrow(
      /^body\.model "gpt-4o" is not a batch deployment of this Azure OpenAI resource \(batch deployments: gpt-4o-batch\)/,
    );
    expect(() => checkBatchDeployment(azure, 'gpt-4o-batch', ['gpt-4o-batch'])).not.toThrow();
    expect(() => checkBatchDeployment(azure, 'gpt-4o', undefined)).not.toThrow();
    expect(() => checkBatchDeployment(openai, 'gpt-4o', ['x'])).not.toThrow();
  });
});

describe('the Azure client', () => {
  it('goes to /openai/v1 without api-version, and to /openai with it', () => {
    const v1 = createAzureClient({ baseURL: 'https://res.openai.azure.com', apiKey: 'k' });
    expect(v1.baseURL).toBe('https://res.openai.azure.com/openai/v1');
    expect(v1).not.toBeInstanceOf(AzureOpenAI);
    const dated = createAzureClient({
      baseURL: 'https://res.openai.azure.com/',
      apiKey: 'k',
      apiVersion: '2025-03-01-preview',
    });
    expect(dated).toBeInstanceOf(AzureOpenAI);
    expect(dated.baseURL).toBe('https://res.openai.azure.com/openai');
    expect((dated as AzureOpenAI).apiVersion).toBe('2025-03-01-preview');
    const fromQuery = createAzureClient({
      baseURL: 'https://res.openai.azure.com/openai?api-version=2024-10-21',
      apiKey: 'k',
    });
    expect((fromQuery as AzureOpenAI).apiVersion).toBe('2024-10-21');
  });

  it('refuses, in one line each, a /deployments/ base URL, a dated path without a version, and a key with a token', () => {
    expect(() =>
      createAzureClient({ baseURL: 'https://res.openai.azure.com/openai/deployments/d', apiKey: 'k', apiVersion: 'v' }),
    ).toThrow(/^the Azure OpenAI base URL has a \/deployments\/ segment/);
    expect(() => createAzureClient({ baseURL: 'https://res.openai.azure.com/openai', apiKey: 'k' })).toThrow(
      /ends at \/openai \(the dated API\) but no api-version is set/,
    );
    expect(() =>
      createAzureClient({
        baseURL: 'https://res.openai.azure.com',
        apiKey: 'k',
        azureADTokenProvider: () => Promise.resolve('t'),
      }),
    ).toThrow(/not both/);
    expect(() => createAzureClient({ baseURL: 'https://res.openai.azure.com' })).toThrow(/needs a key or a token/);
  });

  it('refuses a ready AzureOpenAI client with a deployment (it would post batches under /deployments/{d})', () => {
    const withDeployment = new AzureOpenAI({
      baseURL: 'https://res.openai.azure.com/openai',
      apiVersion: '2025-03-01-preview',
      apiKey: 'k',
      deployment: 'gpt-4o-batch',
    });
    expect(() => checkReadyClient(withDeployment)).toThrow(
      /^the plugin was given an AzureOpenAI client with a `deployment`/,
    );
    const plain = new OpenAI({ baseURL: 'https://res.openai.azure.com/openai/deployments/d', apiKey: 'k' });
    expect(() => checkReadyClient(plain)).toThrow(/\/deployments\/ segment/);
    expect(() => checkReadyClient(new OpenAI({ baseURL: 'http://127.0.0.1:1/v1', apiKey: 'k' }))).not.toThrow();
  });
});
