import type { BatchEndpoint } from '../../../common/job-types.ts';

/** The services the plugin knows how to talk to. `compatible`: any other OpenAI-shaped batch service. */
export const PROVIDER_NAMES = ['openai', 'azure', 'groq', 'compatible'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What one batch service accepts and how it behaves, as the planner, client and error mapping need it. */
export interface ProviderProfile {
  readonly name: ProviderName;
  /** What the service is called in messages. */
  readonly label: string;
  /**
   * The largest chunk the service accepts. `maxBytes` is under both readings of the documented
   * "200 MB" (10^6 or 2^20), as the planner's default always was.
   */
  readonly limits: { readonly maxRequests: number; readonly maxBytes: number; readonly maxEmbeddingInputs: number };
  /** The batch endpoints the service offers (the project's `/v1/...` spelling). */
  readonly endpoints: readonly BatchEndpoint[];
  /** Whether a batch still running at the end of its 24 h window is expired. Azure runs it until done or cancelled. */
  readonly expiresAfter24h: boolean;
  /** Whether `batches.create` takes `metadata` (the exactly-once create finds its batch by it). */
  readonly acceptsMetadata: boolean;
  /**
   * Input files a resource may hold at once (`withoutExpiry`), and with an expiry set on them
   * (`withExpiry`, the job's `openaiFileTtlSeconds`); undefined when the service states none.
   */
  readonly inputFileCap?: { readonly withoutExpiry: number; readonly withExpiry: number } | undefined;
  /** How the key travels: OpenAI's `Authorization: Bearer`, or Azure's `api-key` header (or an Entra ID token). */
  readonly auth: 'bearer' | 'api-key-or-entra';
}

const ALL_ENDPOINTS: readonly BatchEndpoint[] = [
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
];

const MIB_190 = 190 * 1024 * 1024;

/** The four profiles. Sources: reference/openai-batch-api.md sections 5 and 7 (Azure's Global Batch limits, Groq's batch docs). */
export const PROVIDER_PROFILES: Readonly<Record<ProviderName, ProviderProfile>> = {
  openai: {
    name: 'openai',
    label: 'OpenAI',
    limits: { maxRequests: 50_000, maxBytes: MIB_190, maxEmbeddingInputs: 50_000 },
    endpoints: ALL_ENDPOINTS,
    expiresAfter24h: true,
    acceptsMetadata: true,
    auth: 'bearer',
  },
  azure: {
    name: 'azure',
    label: 'Azure OpenAI',
    limits: { maxRequests: 100_000, maxBytes: MIB_190, maxEmbeddingInputs: 50_000 },
    // Global Batch documents chat completions and responses; embeddings are not offered in batch.
    endpoints: ['/v1/chat/completions', '/v1/responses'],
    expiresAfter24h: false,
    acceptsMetadata: true,
    inputFileCap: { withoutExpiry: 500, withExpiry: 10_000 },
    auth: 'api-key-or-entra',
  },
  groq: {
    name: 'groq',
    label: 'Groq',
    limits: { maxRequests: 50_000, maxBytes: MIB_190, maxEmbeddingInputs: 50_000 },
    endpoints: ['/v1/chat/completions'],
    expiresAfter24h: true,
    acceptsMetadata: true,
    auth: 'bearer',
  },
  // Nothing is known of an unnamed service: OpenAI's shapes and limits, every endpoint; the service
  // itself refuses what it does not offer.
  compatible: {
    name: 'compatible',
    label: 'the OpenAI-compatible service',
    limits: { maxRequests: 50_000, maxBytes: MIB_190, maxEmbeddingInputs: 50_000 },
    endpoints: ALL_ENDPOINTS,
    expiresAfter24h: true,
    acceptsMetadata: true,
    auth: 'bearer',
  },
};
