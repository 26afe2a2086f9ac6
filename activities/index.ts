export { createBatchActivities } from './create-batch-activities.ts';
export type { BatchActivities, BatchActivityDeps } from './create-batch-activities.ts';
export { crashOnceAt } from './crash-point.ts';
export type { CrashHook, CrashPoint } from './crash-point.ts';
export type { BatchSnapshot, BatchErrorRef, WaitForBatchInput } from './openai-batches.ts';
export type { CreateBatchInput } from './create-batch.ts';
export type { UploadChunkInput } from './upload-chunk.ts';
export type {
  CollectChunkInput,
  CollectChunkResult,
  FinalizeInput,
  FinalizeResult,
  PlanInput,
  PlanRetryInput,
} from './job-steps.ts';
