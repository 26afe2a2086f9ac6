export { createBatchActivities } from './create-batch-activities.ts';
export type { BatchActivities, BatchActivityDeps } from './create-batch-activities.ts';
