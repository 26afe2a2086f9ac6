import { z } from 'zod';
import { DEFAULT_WEBHOOK_CONFIG, webhookConfigPatchSchema, webhookConfigSchema } from './webhooks/webhook-config.ts';

/** SDK-style names of the routes the emulator serves; fault rates and call counters use them. */
export const ROUTE_NAMES = [
  'files.create',
  'files.list',
  'files.retrieve',
  'files.content',
  'files.delete',
  'batches.create',
  'batches.list',
  'batches.retrieve',
  'batches.cancel',
  'uploads.create',
  'uploads.parts.create',
  'uploads.complete',
  'uploads.cancel',
] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

/** Per-row failure codes the emulator can inject, with the HTTP status OpenAI writes for each. */
export const ROW_ERROR_STATUS = {
  rate_limit_exceeded: 429,
  server_error: 500,
  invalid_request_error: 400,
  context_length_exceeded: 400,
  timeout: 408,
} as const;
export type RowErrorCode = keyof typeof ROW_ERROR_STATUS;

const rate = z.number().min(0).max(1);

const routeFaultsSchema = z.strictObject({
  /** Share of calls answered 429 `rate_limit_exceeded` with a `retry-after` header. */
  rateLimit: rate.optional(),
  /** Seconds sent in `retry-after` (and `retry-after-ms`) with injected 429s. */
  retryAfterSeconds: z.number().min(0).optional(),
  /** Share of calls answered 401 `invalid_api_key`, as when the key is revoked mid-job. */
  unauthorized: rate.optional(),
  /** Share of calls answered 500. */
  serverError: rate.optional(),
  /** Share of calls answered 502. */
  badGateway: rate.optional(),
  /** Share of calls answered 503. */
  serviceUnavailable: rate.optional(),
  /** Share of calls whose socket is destroyed before any response (the client sees a connection error). */
  dropConnection: rate.optional(),
  /**
   * Share of calls that are carried out and then lose their response (a create that "did not happen" for the
   * client).
   */
  dropAfterHandling: rate.optional(),
  /** Milliseconds added before handling, on `latencyRate` of the calls. */
  latencyMs: z.number().int().min(0).optional(),
  /** Share of calls that get `latencyMs`; defaults to all of them. */
  latencyRate: rate.optional(),
});
export type RouteFaults = z.infer<typeof routeFaultsSchema>;

const faultKeys = z.union([z.enum(ROUTE_NAMES), z.literal('*')]);

const rowErrorsSchema = z.strictObject({
  rate_limit_exceeded: rate.optional(),
  server_error: rate.optional(),
  invalid_request_error: rate.optional(),
  context_length_exceeded: rate.optional(),
  timeout: rate.optional(),
});

const limitsSchema = z.strictObject({
  /** Requests per batch input file. */
  maxRequests: z.number().int().positive(),
  /** Bytes per batch input file. */
  maxBytes: z.number().int().positive(),
  /** Embedding inputs across all requests of an `/v1/embeddings` batch. */
  maxEmbeddingInputs: z.number().int().positive(),
  /** Bytes per uploaded file of any purpose. */
  maxUploadBytes: z.number().int().positive(),
});

/** Which service the emulator speaks: its paths, auth, limits, expiry and error bodies (see providers/). */
export const EMULATOR_PROVIDERS = ['openai', 'azure', 'groq'] as const;
export type EmulatorProvider = (typeof EMULATOR_PROVIDERS)[number];

const azureSchema = z.strictObject({
  /** The dated API versions accepted on `/openai/...`; empty: any non-empty version. */
  apiVersions: z.array(z.string().min(1)),
  /** The resource's batch deployments; a batch whose `model` is none of them fails `model_not_found`. Empty: any. */
  deployments: z.array(z.string().min(1)),
  /** The Entra ID bearer tokens accepted; empty: any non-empty token. */
  entraTokens: z.array(z.string().min(1)),
  /**
   * Azure's "fail-fast" regions: a create whose prompt tokens would overfill `enqueuedTokenLimit`
   * is refused at once (400 `token_limit_exceeded`) instead of failing the batch later.
   */
  failFastTokenLimit: z.boolean(),
  /** Seconds sent as `retry-after` with a fail-fast refusal (none by default, as Azure sends none). */
  failFastRetryAfterSeconds: z.number().min(0).optional(),
});
export type AzureEmulatorConfig = z.infer<typeof azureSchema>;

/** The Azure knobs when none are given: any version, any deployment, any token. */
export const DEFAULT_AZURE_CONFIG: AzureEmulatorConfig = {
  apiVersions: [],
  deployments: [],
  entraTokens: [],
  failFastTokenLimit: false,
};

/** The full emulator configuration; every field has a default (see {@link DEFAULT_CONFIG}). */
export const emulatorConfigSchema = z.strictObject({
  /** Seed of every random choice (faults, failing rows) so that a run is reproducible. */
  seed: z.number().int(),
  /** Rows processed per second once a batch is `in_progress`, or `'instant'`. */
  rowsPerSecond: z.union([z.number().positive(), z.literal('instant')]),
  /** Seconds a batch stays `validating` (at least as long as validation really takes). */
  validatingSeconds: z.number().min(0),
  /** Seconds a batch stays `finalizing` after its last row. */
  finalizingSeconds: z.number().min(0),
  /** Seconds a batch stays `cancelling` before it is `cancelled`. */
  cancellingSeconds: z.number().min(0),
  /** Length of the `24h` completion window, in seconds; shorten it to test expiry. */
  completionWindowSeconds: z.number().positive(),
  /**
   * Factor on an upload's `expires_after.seconds` (still checked as given, 3,600 at least): 0.001
   * makes a file asked to live an hour expire after 3.6 s, to test what happens past a file's TTL.
   */
  fileTtlScale: z.number().positive().max(1),
  /** Share of executed rows that fail, by error code. */
  rowErrors: rowErrorsSchema,
  /** Faults on API calls, per route; `'*'` applies to routes without an entry of their own. */
  faults: z.partialRecord(faultKeys, routeFaultsSchema),
  /** Enqueued prompt-token limit per model (`'*'` for any model without its own entry). */
  enqueuedTokenLimit: z.record(z.string(), z.number().int().positive()),
  /** Input limits of a batch, the real API's by default; lower them to test the errors cheaply. */
  limits: limitsSchema,
  /**
   * The API keys accepted; any other gets OpenAI's 401 `invalid_api_key`. Empty (the default):
   * any non-empty key is accepted.
   */
  apiKeys: z.array(z.string().min(1)),
  /** Batch webhooks: where to deliver them and with which faults (see webhooks/webhook-config.ts). */
  webhooks: webhookConfigSchema,
  /** The service spoken; absent: OpenAI (kept out of the default so OpenAI mode is unchanged). */
  provider: z.enum(EMULATOR_PROVIDERS).optional(),
  /** Azure mode's API versions, batch deployments and Entra ID tokens. */
  azure: azureSchema.optional(),
});
export type EmulatorConfig = z.infer<typeof emulatorConfigSchema>;

/** A partial configuration, merged into the current one (objects key by key). */
export const emulatorConfigPatchSchema = z.strictObject({
  seed: emulatorConfigSchema.shape.seed.optional(),
  rowsPerSecond: emulatorConfigSchema.shape.rowsPerSecond.optional(),
  validatingSeconds: emulatorConfigSchema.shape.validatingSeconds.optional(),
  finalizingSeconds: emulatorConfigSchema.shape.finalizingSeconds.optional(),
  cancellingSeconds: emulatorConfigSchema.shape.cancellingSeconds.optional(),
  completionWindowSeconds: emulatorConfigSchema.shape.completionWindowSeconds.optional(),
  fileTtlScale: emulatorConfigSchema.shape.fileTtlScale.optional(),
  rowErrors: rowErrorsSchema.optional(),
  faults: z.partialRecord(faultKeys, routeFaultsSchema.nullable()).optional(),
  enqueuedTokenLimit: z.record(z.string(), z.number().int().positive().nullable()).optional(),
  limits: limitsSchema.partial().optional(),
  apiKeys: emulatorConfigSchema.shape.apiKeys.optional(),
  webhooks: webhookConfigPatchSchema.optional(),
  provider: z.enum(EMULATOR_PROVIDERS).optional(),
  azure: azureSchema.partial().optional(),
});
export type EmulatorConfigPatch = z.input<typeof emulatorConfigPatchSchema>;

export const DEFAULT_CONFIG: EmulatorConfig = {
  seed: 1,
  rowsPerSecond: 100,
  validatingSeconds: 1,
  finalizingSeconds: 1,
  cancellingSeconds: 1,
  completionWindowSeconds: 24 * 3600,
  fileTtlScale: 1,
  rowErrors: {},
  faults: {},
  enqueuedTokenLimit: {},
  apiKeys: [],
  webhooks: DEFAULT_WEBHOOK_CONFIG,
  limits: {
    maxRequests: 50_000,
    maxBytes: 200 * 1024 * 1024,
    maxEmbeddingInputs: 50_000,
    maxUploadBytes: 512 * 1024 * 1024,
  },
};

/**
 * Merges a validated patch into a config. Nested maps merge key by key; a `null` under `faults` or
 * `enqueuedTokenLimit` removes that entry, so a test can switch one route's faults off again.
 */
export function mergeConfig(base: EmulatorConfig, patchInput: unknown): EmulatorConfig {
  const patch = emulatorConfigPatchSchema.parse(patchInput);
  const faults = { ...base.faults };
  for (const [route, value] of Object.entries(patch.faults ?? {})) {
    const key = route as keyof typeof faults;
    if (value === null) delete faults[key];
    else faults[key] = { ...faults[key], ...value };
  }
  const enqueuedTokenLimit = { ...base.enqueuedTokenLimit };
  for (const [model, value] of Object.entries(patch.enqueuedTokenLimit ?? {})) {
    if (value === null) delete enqueuedTokenLimit[model];
    else enqueuedTokenLimit[model] = value;
  }
  // Switching to Azure takes Azure's request limit (100,000 per file), unless the patch sets its own.
  const providerLimits = patch.provider === 'azure' && base.provider !== 'azure' ? { maxRequests: 100_000 } : {};
  return emulatorConfigSchema.parse({
    ...base,
    ...stripUndefined({
      seed: patch.seed,
      rowsPerSecond: patch.rowsPerSecond,
      validatingSeconds: patch.validatingSeconds,
      finalizingSeconds: patch.finalizingSeconds,
      cancellingSeconds: patch.cancellingSeconds,
      completionWindowSeconds: patch.completionWindowSeconds,
      fileTtlScale: patch.fileTtlScale,
      apiKeys: patch.apiKeys,
    }),
    rowErrors: { ...base.rowErrors, ...patch.rowErrors },
    faults,
    enqueuedTokenLimit,
    limits: { ...base.limits, ...providerLimits, ...patch.limits },
    webhooks: { ...base.webhooks, ...patch.webhooks },
    ...stripUndefined({
      provider: patch.provider,
      azure: patch.azure || base.azure ? { ...DEFAULT_AZURE_CONFIG, ...base.azure, ...patch.azure } : undefined,
    }),
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
