import { fileURLToPath } from 'node:url';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { SimplePlugin } from '@temporalio/plugin';
import type { ReplayWorkerOptions, WorkerOptions } from '@temporalio/worker';
import { installWorkerRuntime } from './metrics/telemetry.ts';
import { tracingResource } from './metrics/tracing.ts';
import type OpenAI from 'openai';
import { createBatchActivities } from '../activities/create-batch-activities.ts';
import type { CrashHook } from '../activities/crash-point.ts';
import { heavySlotCount, type HeavySlots } from '../activities/heavy-slots.ts';
import type { PostgresConnections } from './pipeline/connection.ts';
import type { CreateBatchTiming } from '../activities/create-batch.ts';
import type { AzureProviderOptions } from './openai/providers/provider-client.ts';
import type { ProviderName } from './openai/providers/provider-profile.ts';

/** Options for {@link OpenAIBatchPlugin}. */
export interface OpenAIBatchPluginOptions {
  /** OpenAI-compatible base URL. @default process.env.OPENAI_BASE_URL, else OpenAI's */
  readonly openaiBaseUrl?: string | undefined;
  /** API key, read on the worker only. @default process.env.OPENAI_API_KEY */
  readonly openaiApiKey?: string | undefined;
  /** A ready OpenAI client (proxies, tests); replaces the URL and key. An `AzureOpenAI` with a `deployment` is refused. @default undefined */
  readonly openai?: OpenAI | undefined;
  /**
   * The batch service: `openai`, `azure`, `groq` or `compatible`; its limits are the planner's
   * defaults and its endpoints the ones a job may use. @default process.env.OPENAI_BATCH_PROVIDER,
   * else inferred from the base URL (`*.openai.azure.com`, `*.cognitiveservices.azure.com`: azure;
   * `api.groq.com`: groq; api.openai.com or none: openai; any other: compatible)
   */
  readonly provider?: ProviderName | undefined;
  /** Azure OpenAI: dated API version, Entra ID token provider, batch deployments. @default undefined */
  readonly azure?: AzureProviderOptions | undefined;
  /**
   * `file://` URI or directory under which jobs keep their files.
   * @default process.env.OPENAI_BATCH_STORAGE_ROOT, else ./.openai-batch
   */
  readonly storageRoot?: string | undefined;
  /** Named Postgres connections for `enrichTable` (else an environment variable of that name). @default {} */
  readonly postgresConnections?: PostgresConnections | undefined;
  /**
   * The windows of the exactly-once batch create: how soon after its start an attempt may still
   * send a create (`sendWindowMs`), the SDK's timeout on it (`requestTimeoutMs`), and how long
   * after that a create may still land at OpenAI (`landingGraceMs`). A retry after an uncertain
   * create waits their sum before it searches. Same on every worker of the task queue.
   * @default { sendWindowMs: 10_000, requestTimeoutMs: 15_000, landingGraceMs: 5_000 }
   */
  readonly createBatchTiming?: CreateBatchTiming | undefined;
  /**
   * Serve Prometheus metrics (the SDK's and the project's, one scrape at `http://<address>/metrics`).
   * The runtime is process-global: construct the plugin before the first connection, or call
   * `installWorkerRuntime` yourself. @default process.env.OPENAI_BATCH_METRICS_ADDRESS, else off
   */
  readonly metricsAddress?: string | undefined;
  /**
   * Trace jobs with OpenTelemetry: a job's workflows and activities as one trace, each OpenAI call
   * a span with its batch or file id. Register an OpenTelemetry context manager in the process
   * (the NodeSDK does) so that the OpenAI spans nest under their activity's. @default off
   */
  readonly tracing?: OpenAIBatchTracingOptions | undefined;
  /**
   * The worker's memory budget, in slots, for its heavy activities (plan, chunk upload, collect,
   * finalize, each streaming a chunk or the whole job through the worker): an upload takes one
   * slot, a plan, collect or finalize two (never more than there are), so the default lets two
   * uploads run together and every other heavy step run alone. The others wait, heartbeating, and
   * stop waiting when cancelled. `0` removes the limit. Each running one holds some tens of MB (see
   * the README's Limits). Per plugin instance; pass one `HeavySlots`
   * to several plugins for one budget across the workers of a process.
   * @default process.env.OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS, else 2
   */
  readonly heavyActivitySlots?: number | HeavySlots | undefined;
  /** Test-only: called at crash points to kill the worker. @default undefined */
  readonly crashHook?: CrashHook | undefined;
  /** Test-only: attempts before a storage error on the job's own files fails a step. @default 10 */
  readonly jobFileAttempts?: number | undefined;
}

/** Where a traced worker sends its spans. */
export interface OpenAIBatchTracingOptions {
  /** Receives every span (e.g. a `BatchSpanProcessor` over an OTLP exporter). */
  readonly spanProcessor: SpanProcessor;
  /** Resource attributes of the workflow spans. @default service.name `temporal-openai-batch` */
  readonly resource?: Resource | undefined;
}

// In the repository the plugin runs from `src/plugin.ts`; published, from `dist/src/plugin.js`.
const ownExtension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Absolute path of the plugin's workflow entry, for `workflowsPath` or a user's own bundle. */
export const workflowsPath: string = fileURLToPath(new URL(`../workflows/index${ownExtension}`, import.meta.url));

/** OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS as a number; unset or empty, the default. */
function slotsFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return heavySlotCount(Number(value), 'OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS', JSON.stringify(value));
}

/**
 * Registers the OpenAI batch activities on a worker and, when the worker has no workflows of its
 * own, the plugin's workflows. A worker with its own `workflowsPath` keeps it; re-export
 * `temporal-openai-batch/workflows` from that file to include the job workflows.
 */
export class OpenAIBatchPlugin extends SimplePlugin {
  private readonly tracing: OpenTelemetryPlugin | undefined;

  constructor(options: OpenAIBatchPluginOptions = {}) {
    if (options.metricsAddress !== undefined) installWorkerRuntime({ metricsAddress: options.metricsAddress });
    const apiKey = options.openaiApiKey ?? process.env['OPENAI_API_KEY'];
    super({
      name: 'temporal-openai-batch',
      activities: createBatchActivities({
        openaiBaseUrl: options.openaiBaseUrl ?? process.env['OPENAI_BASE_URL'],
        openaiApiKey: apiKey,
        apiKeyConfigured: Boolean(apiKey),
        openai: options.openai,
        provider: options.provider,
        azure: options.azure,
        crashHook: options.crashHook,
        jobFileAttempts: options.jobFileAttempts,
        postgresConnections: options.postgresConnections,
        createBatchTiming: options.createBatchTiming,
        heavyActivitySlots:
          options.heavyActivitySlots ?? slotsFromEnv(process.env['OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS']),
        storageRoot: options.storageRoot ?? process.env['OPENAI_BATCH_STORAGE_ROOT'] ?? './.openai-batch',
      }),
      workflowsPath: (existing: string | undefined) => existing ?? workflowsPath,
    });
    this.tracing = options.tracing
      ? new OpenTelemetryPlugin({
          spanProcessor: options.tracing.spanProcessor,
          resource: options.tracing.resource ?? tracingResource(),
        })
      : undefined;
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    let configured = super.configureWorker(options);
    // The tracing plugin adds its workflow interceptors to the bundle the worker makes; a prebuilt
    // bundle has none, and the job's workflow spans would be missing without a word.
    if (this.tracing && options.workflowBundle && !options.workflowsPath)
      throw new TypeError(
        'OpenAIBatchPlugin: `tracing` needs the worker to bundle the workflows itself (its interceptors go into ' +
          'the bundle): drop `workflowBundle` (e.g. bundleWorkflowsApart()) from Worker.create, or turn tracing off',
      );
    if (options.workflowBundle && !options.workflowsPath) {
      // A prebuilt bundle (e.g. `bundleWorkflowsApart`) is used as is: no path beside it.
      const { workflowsPath: _path, ...rest } = configured;
      configured = rest;
    }
    return this.tracing ? this.tracing.configureWorker(configured) : configured;
  }

  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    const configured = super.configureReplayWorker(options);
    return this.tracing ? this.tracing.configureReplayWorker(configured) : configured;
  }
}
