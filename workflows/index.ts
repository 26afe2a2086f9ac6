// The sandbox-safe entry point (`temporal-openai-batch/workflows`): a user's own workflow bundle may
// re-export these. Nothing here imports Node built-ins, `openai` or activity values.
export { healthCheckWorkflow } from './health-check.ts';
export {
  BATCH_IDS,
  ENDPOINT,
  JOB_NAME,
  JOB_PROGRESS,
  JOB_STATUS,
  MODEL,
  SEARCH_ATTRIBUTE_KEYS,
} from './search-attributes.ts';
export type { HealthCheckInput, WorkerHealth } from './types.ts';
