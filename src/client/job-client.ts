import { StringDecoder } from 'node:string_decoder';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { z } from 'zod';
import { openStorage } from '../storage/index.ts';
import { extendDeadlineUpdate, progressQuery, retryFailedRowsUpdate } from '../../common/messages.ts';
import type { openAIBatchJob } from '../../workflows/job/job-workflow.ts';
import type {
  ExtendDeadlineResult,
  JobInput,
  JobProgress,
  JobSummary,
  RetryNowResult,
} from '../../common/job-types.ts';
import { ENDPOINT, JOB_NAME, JOB_STATUS } from '../../common/search-attributes.ts';
import { JobInputError, jobIdSchema, parseJobInput, type jobInputSchema } from './job-input-schema.ts';
import { explainStartFailure } from '../setup/search-attribute-setup.ts';

/** A handle on a running or finished job. */
export type JobHandle = WorkflowHandleWithFirstExecutionRunId<typeof openAIBatchJob>;

/** Options of {@link startBatchJob}. */
export interface StartJobOptions {
  /** Task queue of a worker with the plugin. */
  readonly taskQueue: string;
  /** Workflow id. @default the input's `jobId`, else `openai-batch-<time>` */
  readonly workflowId?: string;
  /**
   * The name the user knows the input by (e.g. the local file the CLI copied into storage), kept in
   * the workflow's memo so that messages about the input name it rather than the copy.
   */
  readonly inputName?: string;
}

/** Memo key of {@link StartJobOptions.inputName}. */
export const INPUT_NAME_MEMO = 'openai-batch.input';

/**
 * The input {@link startBatchJob} accepts: the job options as the zod schema reads them, so that a
 * misspelt field or endpoint fails to compile (`endpoint` is one of the Batch API's endpoints).
 */
export type StartJobInput = z.input<typeof jobInputSchema>;

/**
 * Validates the input with zod (field-level messages, before anything reaches Temporal; also for
 * callers the types do not reach) and starts `openAIBatchJob`. Returns its handle.
 */
export async function startBatchJob(
  client: Client,
  input: StartJobInput,
  options: StartJobOptions,
): Promise<JobHandle> {
  const job = parseJobInput(input);
  const workflowId = options.workflowId ?? job.jobId ?? `openai-batch-${Date.now().toString(36)}`;
  // Without a jobId the workflow id is the job's id: the same rules hold for it.
  if (job.jobId === undefined) refuseBadWorkflowIdAsJobId(workflowId);
  try {
    return await startJob(client, job, workflowId, options.taskQueue, options.inputName);
  } catch (err) {
    throw await explainStartFailure(client, client.options.namespace, err);
  }
}

function refuseBadWorkflowIdAsJobId(workflowId: string): void {
  const checked = jobIdSchema.safeParse(workflowId);
  if (checked.success) return;
  throw new JobInputError(
    checked.error.issues.map((i) => ({
      path: 'workflowId',
      message: `${i.message} (with no jobId, the workflow id is the job's id: shorten it or pass a jobId)`,
    })),
  );
}

async function startJob(
  client: Client,
  job: JobInput,
  workflowId: string,
  taskQueue: string,
  inputName: string | undefined,
): Promise<JobHandle> {
  return await client.workflow.start<typeof openAIBatchJob>('openAIBatchJob', {
    taskQueue,
    workflowId,
    args: [job],
    ...(inputName ? { memo: { [INPUT_NAME_MEMO]: inputName } } : {}),
    typedSearchAttributes: [
      { key: JOB_STATUS, value: 'planning' },
      { key: ENDPOINT, value: job.endpoint },
      ...(job.name ? [{ key: JOB_NAME, value: job.name }] : []),
    ],
    staticSummary: `OpenAI batch job${job.name ? ` "${job.name}"` : ''}: ${job.endpoint}`,
  });
}

/** The job's progress (the `progress` query). */
export async function getJobProgress(handle: WorkflowHandle): Promise<JobProgress> {
  return await handle.query(progressQuery);
}

/**
 * Resubmits now, as a new round, the retryable rows of the chunks that have finished, instead of
 * waiting for the round's slowest batch (the `retryFailedRows` update). Rejects with the job's
 * reason (a `WorkflowUpdateFailedError`) when there is nothing to retry yet, the deadline passed,
 * or `maxRounds` is used up; a rejected request leaves no trace in the job's history.
 */
export async function retryFailedRowsNow(handle: WorkflowHandle): Promise<RetryNowResult> {
  return await handle.executeUpdate(retryFailedRowsUpdate);
}

/**
 * Moves the job's deadline later (the `extendDeadline` update): the job and its running chunks
 * then cancel nothing before the new deadline. `deadline` is a `Date`, epoch milliseconds or an
 * ISO 8601 date.
 */
export async function extendJobDeadline(
  handle: WorkflowHandle,
  deadline: Date | number | string,
): Promise<ExtendDeadlineResult> {
  const value = deadline instanceof Date ? deadline.getTime() : deadline;
  return await handle.executeUpdate(extendDeadlineUpdate, { args: [{ deadline: value }] });
}

/** Waits for the job and returns its summary. */
export async function awaitJobSummary(handle: WorkflowHandle): Promise<JobSummary> {
  return (await handle.result()) as JobSummary;
}

/** One line of `results.jsonl`. The body's shape depends on the endpoint. */
export interface ResultRow {
  readonly custom_id: string;
  readonly status: string;
  readonly [field: string]: unknown;
}

/** Streams the job's `results.jsonl`, one parsed row at a time. */
export async function* iterateResults(
  summary: Pick<JobSummary, 'resultsUri'>,
  storageRoot: string,
): AsyncGenerator<ResultRow> {
  const storage = openStorage(storageRoot);
  // A character's bytes may straddle two read pieces: the decoder holds them until it is whole.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const part of await storage.openRead(summary.resultsUri)) {
    rest += decoder.write(part);
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line) yield JSON.parse(line) as ResultRow;
      newline = rest.indexOf('\n');
    }
  }
  rest += decoder.end();
  if (rest.trim()) yield JSON.parse(rest) as ResultRow;
}
