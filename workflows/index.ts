// The sandbox-safe entry point (`temporal-openai-batch/workflows`): a user's own workflow bundle may
// re-export these. Nothing here imports Node built-ins, `openai` or activity values.
export { healthCheckWorkflow } from './health-check.ts';
export { openAIBatchJob } from './job/job-workflow.ts';
export { openAIBatchChunk, type ChunkResume } from './chunk/index.ts';
export {
  chunkDeadlineSignal,
  chunkDoneSignal,
  chunkProgressQuery,
  chunkProgressSignal,
  extendDeadlineUpdate,
  progressQuery,
  retryFailedRowsUpdate,
} from '../common/messages.ts';
export {
  chunkWorkflowId,
  DEFAULT_MAX_ACTIVE_BATCHES,
  DEFAULT_MAX_ROUNDS,
  DEFAULT_WAIT,
  EMULATOR_WAIT,
} from '../common/job-options.ts';
export { countPolls, DEFAULT_POLL_SCHEDULE, estimatedRemainingMs, nextPollDelayMs } from '../common/poll-schedule.ts';
export type { PollObservation, PollScheduleOptions } from '../common/poll-schedule.ts';
export type { JobState } from './job/job-state.ts';
export type {
  ChunkEnd,
  ChunkInput,
  ChunkLimits,
  ChunkProgress,
  ChunkRef,
  ChunkResult,
  ExtendDeadlineRequest,
  ExtendDeadlineResult,
  JobInput,
  JobPhase,
  JobProgress,
  JobSummary,
  ModelPrice,
  RetryNowResult,
  RoundPlan,
  RowStatus,
  TokenUsage,
  WaitOptions,
} from '../common/job-types.ts';
export {
  BATCH_IDS,
  ENDPOINT,
  JOB_NAME,
  JOB_PROGRESS,
  JOB_STATUS,
  MODEL,
  SEARCH_ATTRIBUTE_KEYS,
} from '../common/search-attributes.ts';
export type { HealthCheckInput, WorkerHealth } from '../common/health-types.ts';
export {
  enrichTable,
  enrichProgressQuery,
  enrichJobWorkflowId,
  type EnrichTableInput,
  type EnrichSummary,
  type EnrichProgress,
  type EnrichSource,
  type EnrichTemplate,
  type EnrichSink,
} from './enrich/index.ts';
