// The package root: worker and client code. Workflow code imports `temporal-openai-batch/workflows`.
export { OpenAIBatchPlugin, workflowsPath } from './plugin.ts';
export { DEFAULT_HEAVY_ACTIVITY_SLOTS, HeavySlots } from '../activities/heavy-slots.ts';
export { bundleWorkflowsApart } from './workflow-bundle.ts';
export type { OpenAIBatchPluginOptions, OpenAIBatchTracingOptions } from './plugin.ts';
export { installWorkerRuntime, METRICS_ADDRESS_ENV, prometheusTelemetry } from './metrics/telemetry.ts';
export type { WorkerRuntimeOptions } from './metrics/telemetry.ts';
export { METRIC_LIST, METRICS } from '../common/metric-names.ts';
export type { MetricSpec } from '../common/metric-names.ts';
export { createBatchActivities } from '../activities/create-batch-activities.ts';
export type { BatchActivities, BatchActivityDeps } from '../activities/create-batch-activities.ts';
export { createOpenAIClient } from './openai/client.ts';
export type { OpenAIClientConfig } from './openai/client.ts';
// Provider profiles (OpenAI, Azure OpenAI, Groq, compatible) and the Azure client the plugin builds.
export { createAzureClient } from './openai/providers/azure-client.ts';
export type { AzureClientConfig } from './openai/providers/azure-client.ts';
export { inferProvider } from './openai/providers/choose-provider.ts';
export { PROVIDER_NAMES, PROVIDER_PROFILES } from './openai/providers/provider-profile.ts';
export type { ProviderName, ProviderProfile } from './openai/providers/provider-profile.ts';
export type { AzureProviderOptions } from './openai/providers/provider-client.ts';
export { OPENAI_FAILURE_TYPES, retryAfterFromHeaders, toApplicationFailure } from './openai/errors.ts';
export { FAILURE_TYPES, FATAL_FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../common/failures.ts';
export type { FailureType } from '../common/failures.ts';
export { BATCH_ENDPOINTS, buildRequests, strictJsonSchema } from './requests/index.ts';
export type { BatchEndpoint, RequestTemplate, StrictJsonSchema } from './requests/index.ts';
export { jobInputSchema, JobInputError, parseJobInput } from './client/job-input-schema.ts';
export type { JobInputIssue } from './client/job-input-schema.ts';
export {
  awaitJobSummary,
  extendJobDeadline,
  getJobProgress,
  iterateResults,
  retryFailedRowsNow,
  startBatchJob,
} from './client/job-client.ts';
export type { JobHandle, ResultRow, StartJobInput, StartJobOptions } from './client/job-client.ts';
export { getLiveJobProgress } from './client/live-progress.ts';
// The local OpenAI emulator (also `npx openai-batch emulator`): develop and test jobs without a key.
export { startEmulator } from './tools/emulator/index.ts';
export { createWebhookReceiver } from './webhooks/index.ts';
export type { WebhookReceiver, WebhookReceiverOptions } from './webhooks/index.ts';
export { EMULATOR_WAIT } from '../common/job-options.ts';
export type {
  EmulatorConfig,
  EmulatorConfigPatch,
  EmulatorOptions,
  EmulatorStats,
  RunningEmulator,
} from './tools/emulator/index.ts';
export {
  SearchAttributesMissingError,
  searchAttributeCreateCommand,
  searchAttributeProblems,
} from './setup/search-attribute-setup.ts';
export type { SearchAttributeProblem } from './setup/search-attribute-setup.ts';
export { DEFAULT_TASK_QUEUE, loadWorkerConfig, WORKER_ENV_VARS } from './worker-config.ts';
export type { WorkerConfig } from './worker-config.ts';
export {
  extendDeadlineUpdate,
  openAIBatchJob,
  openAIBatchChunk,
  progressQuery,
  retryFailedRowsUpdate,
  SEARCH_ATTRIBUTE_KEYS,
} from '../workflows/index.ts';
export type {
  ChunkLimits,
  ChunkProgress,
  ChunkResult,
  ExtendDeadlineRequest,
  ExtendDeadlineResult,
  JobInput,
  JobPhase,
  JobProgress,
  JobSummary,
  ModelPrice,
  RetryNowResult,
  RowStatus,
  TokenUsage,
  WaitOptions,
} from '../workflows/index.ts';
