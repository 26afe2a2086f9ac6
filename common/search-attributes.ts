import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes every job sets, so that the Temporal UI's list and
// `temporal workflow list --query` can filter jobs. Registered automatically on the dev server;
// real clusters need `temporal operator search-attribute create` once (see README).

/** The job's phase: planning, submitting, waiting, collecting, finalizing, completed, failed, cancelled. */
export const JOB_STATUS = defineSearchAttributeKey('OpenAIBatchJobStatus', SearchAttributeType.KEYWORD);
/** Percent of the job's rows that reached a final state, 0 to 100. */
export const JOB_PROGRESS = defineSearchAttributeKey('OpenAIBatchProgress', SearchAttributeType.INT);
/** Every OpenAI batch id the job created, so that an operator can find a job from a batch id. */
export const BATCH_IDS = defineSearchAttributeKey('OpenAIBatchIds', SearchAttributeType.KEYWORD_LIST);
/** The name the author gave the job. */
export const JOB_NAME = defineSearchAttributeKey('OpenAIBatchJobName', SearchAttributeType.KEYWORD);
/** The OpenAI endpoint, e.g. `/v1/chat/completions`. */
export const ENDPOINT = defineSearchAttributeKey('OpenAIBatchEndpoint', SearchAttributeType.KEYWORD);
/** The model every request of the job uses. */
export const MODEL = defineSearchAttributeKey('OpenAIBatchModel', SearchAttributeType.KEYWORD);

/** All of the project's search attribute keys, in registration order. */
export const SEARCH_ATTRIBUTE_KEYS = [JOB_STATUS, JOB_PROGRESS, BATCH_IDS, JOB_NAME, ENDPOINT, MODEL] as const;
