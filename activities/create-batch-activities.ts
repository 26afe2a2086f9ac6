import type OpenAI from 'openai';
import { checkReadyClient } from '../src/openai/providers/azure-client.ts';
import { chooseProvider } from '../src/openai/providers/choose-provider.ts';
import {
  batchDeploymentsOf,
  createProviderClient,
  type AzureProviderOptions,
} from '../src/openai/providers/provider-client.ts';
import { openStorage } from '../src/storage/index.ts';
import type { PostgresConnections } from '../src/pipeline/connection.ts';
import type { CrashHook } from './crash-point.ts';
import { createChunkLivenessActivities } from './chunk-liveness.ts';
import { createEnrichActivities } from './enrich-steps.ts';
import { createCreateBatchActivity, type CreateBatchTiming } from './create-batch.ts';
import { createJobStepActivities } from './job-steps.ts';
import { createOpenAIBatchActivities } from './openai-batches.ts';
import { createUploadChunkActivities } from './upload-chunk.ts';
import { createWorkerHealthActivities } from './worker-health.ts';
import { HEAVY_STEP_SLOTS, HeavySlots } from './heavy-slots.ts';

/** What the activities need from the worker; built once per worker, never from workflow input. */
export interface BatchActivityDeps {
  /** The OpenAI-compatible base URL activities call, or undefined for the SDK default. */
  readonly openaiBaseUrl?: string | undefined;
  /** The API key; stays in the worker's memory, never in inputs, history, logs or files. */
  readonly openaiApiKey?: string | undefined;
  /** Whether an API key is configured (reported by the health check). */
  readonly apiKeyConfigured: boolean;
  /** `file://` root under which every job keeps its files. */
  readonly storageRoot: string;
  /** A ready client (tests, Azure, proxies); when set, the URL and key above are not used. */
  readonly openai?: OpenAI | undefined;
  /**
   * The service: `openai`, `azure`, `groq` or `compatible`. @default process.env.OPENAI_BATCH_PROVIDER,
   * else inferred from the base URL
   */
  readonly provider?: string | undefined;
  /** Azure OpenAI settings (API version, Entra ID token provider, batch deployments). @default undefined */
  readonly azure?: AzureProviderOptions | undefined;
  /** Part size of uploads through the Uploads API; a chunk no larger goes up in one request. @default 64 MiB */
  readonly uploadPartBytes?: number | undefined;
  /** Named Postgres connections of `enrichTable`'s activities. @default {} */
  readonly postgresConnections?: PostgresConnections | undefined;
  /** The windows of the exactly-once create (see `create-batch.ts`). @default 10 s send, 15 s timeout, 5 s grace */
  readonly createBatchTiming?: CreateBatchTiming | undefined;
  /**
   * Heavy activities (plan, upload, collect, finalize: each streams a chunk or the whole job through
   * the worker) that run at once on this worker; the others wait, heartbeating. 0: no limit. A
   * `HeavySlots` is shared as is (one budget for several workers of a process).
   * @default 2 (see `heavy-slots.ts`)
   */
  readonly heavyActivitySlots?: number | HeavySlots | undefined;
  /** Test-only: called at crash points (see `crash-point.ts`). */
  readonly crashHook?: CrashHook | undefined;
  /**
   * Test-only: attempts a step on the job's own files gets before a storage error fails it (about
   * 5 minutes of backoff by default), so that a test reaches that failure in seconds. @default 10
   */
  readonly jobFileAttempts?: number | undefined;
}

/**
 * Builds the plugin's activities from the worker's dependencies. No client is created at module
 * scope, so two workers in one process can point at different OpenAI endpoints.
 */
export function createBatchActivities(deps: BatchActivityDeps) {
  const profile = chooseProvider(
    deps.provider ?? process.env['OPENAI_BATCH_PROVIDER'],
    deps.openai?.baseURL ?? deps.openaiBaseUrl ?? process.env['OPENAI_BASE_URL'],
  );
  if (deps.openai) checkReadyClient(deps.openai);
  const build = (): OpenAI =>
    createProviderClient(profile, { apiKey: deps.openaiApiKey, baseURL: deps.openaiBaseUrl, azure: deps.azure });
  // Azure's settings are checked as the worker starts (one line, before any job runs); other
  // providers keep the lazy client, so a worker without a key still starts and says why jobs fail.
  let client = deps.openai ?? (profile.name === 'azure' ? build() : undefined);
  const openai = (): OpenAI => (client ??= build());
  const provider = { profile, batchDeployments: batchDeploymentsOf(deps.azure) };
  const storage = openStorage(deps.storageRoot);
  const crash: CrashHook = deps.crashHook ?? (() => undefined);
  const slots =
    deps.heavyActivitySlots instanceof HeavySlots ? deps.heavyActivitySlots : new HeavySlots(deps.heavyActivitySlots);
  const steps = createJobStepActivities(openai, storage, provider, crash, deps.jobFileAttempts);
  const upload = createUploadChunkActivities(openai, storage, crash, deps.uploadPartBytes, deps.jobFileAttempts);
  return {
    ...steps,
    // The steps that stream a chunk or the job through the worker share its memory budget.
    planJob: slots.wrap(steps.planJob.bind(steps), HEAVY_STEP_SLOTS.planJob),
    planRetryRound: slots.wrap(steps.planRetryRound.bind(steps), HEAVY_STEP_SLOTS.planRetryRound),
    collectChunk: slots.wrap(steps.collectChunk.bind(steps), HEAVY_STEP_SLOTS.collectChunk),
    collectNotSubmitted: slots.wrap(steps.collectNotSubmitted.bind(steps), HEAVY_STEP_SLOTS.collectNotSubmitted),
    finalizeJob: slots.wrap(steps.finalizeJob.bind(steps), HEAVY_STEP_SLOTS.finalizeJob),
    uploadChunk: slots.wrap(upload.uploadChunk.bind(upload), HEAVY_STEP_SLOTS.uploadChunk),
    ...createOpenAIBatchActivities(openai, crash),
    ...createCreateBatchActivity(openai, crash, deps.createBatchTiming),
    ...createChunkLivenessActivities(),
    ...createWorkerHealthActivities({ ...deps, provider: profile.name }),
    ...createEnrichActivities(deps),
  };
}

/** The activity interface workflows proxy (by type only). */
export type BatchActivities = ReturnType<typeof createBatchActivities>;
