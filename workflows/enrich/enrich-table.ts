import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnrichActivities } from '../../activities/enrich-steps.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../common/failures.ts';
import type { JobInput, JobSummary } from '../../common/job-types.ts';
import { openAIBatchJob } from '../job/job-workflow.ts';
import type {
  EnrichPhase,
  EnrichProgress,
  EnrichRunStatus,
  EnrichSummary,
  EnrichTableInput,
  ExportRowsResult,
  ImportResultsInput,
  ImportResultsResult,
} from './enrich-types.ts';

/** The live state of an `enrichTable` run. */
export const enrichProgressQuery = defineQuery<EnrichProgress>('enrichProgress');

/** The child job's workflow id: the pipeline's id plus `/job`. */
export const enrichJobWorkflowId = (workflowId: string): string => `${workflowId}/job`;

function activities(input: EnrichTableInput, maximumAttempts?: number) {
  return proxyActivities<EnrichActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: input.job?.wait?.heartbeatTimeoutMs ?? 60_000,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
      ...(maximumAttempts ? { maximumAttempts } : {}),
    },
  });
}

/**
 * Enriches a Postgres table: export the source query's rows as request lines (`exportRows`), run
 * them as an `openAIBatchJob` child, and write the results back by key with one run row
 * (`importResults`, one transaction). Cancelled, the job cancels its batches and finalizes, and
 * the rows it had finished are imported before the run ends cancelled.
 */
export async function enrichTable(input: EnrichTableInput): Promise<EnrichSummary> {
  const info = workflowInfo();
  const runId = input.runId ?? info.workflowId;
  const name = input.name ?? 'enrich';
  const jobWorkflowId = enrichJobWorkflowId(info.workflowId);
  const jobId = `${runId}.job`;
  const act = activities(input);
  let phase: EnrichPhase = 'exporting';
  let exported: ExportRowsResult | undefined;
  let imported: ImportResultsResult | undefined;
  const publish = (next: EnrichPhase, line: string): void => {
    phase = next;
    setCurrentDetails(`**Table enrichment** \`${runId}\` (${name}): ${line}`);
  };
  setHandler(enrichProgressQuery, () => ({ runId, phase, jobWorkflowId, exported, imported }));
  const importInput = (status: EnrichRunStatus, rest: Partial<ImportResultsInput> = {}): ImportResultsInput => ({
    runId,
    name,
    connection: input.connection,
    sink: input.sink,
    status,
    startedAtMs: info.startTime.getTime(),
    model: input.template.model,
    endpoint: input.template.endpoint,
    exported,
    ...rest,
  });

  let jobStarted = false;
  try {
    publish('exporting', `exporting rows from the source query`);
    exported = await act.exportRows({
      runId,
      connection: input.connection,
      source: input.source,
      template: input.template,
      sink: input.sink,
      onInvalid: input.onInvalid ?? 'fail',
    });
    if (exported.requests === 0) {
      imported = await act.importResults(importInput('completed'));
      publish('done', `no rows to enrich (${exported.rows} rows, ${exported.rejected.count} rejected)`);
      return { runId, status: 'completed', exported, imported };
    }
    publish('running', `${exported.requests} requests in job \`${jobWorkflowId}\` (its progress is in that workflow)`);
    const jobInput: JobInput = {
      ...input.job,
      jobId,
      name,
      inputUri: exported.inputUri,
      endpoint: input.template.endpoint ?? '/v1/chat/completions',
      onInvalid: 'fail',
      ...(input.template.responseFormat ? { jsonSchema: input.template.responseFormat.schema } : {}),
    };
    jobStarted = true;
    const job: JobSummary = await executeChild(openAIBatchJob, { workflowId: jobWorkflowId, args: [jobInput] });
    const status: EnrichRunStatus = job.status === 'deadline_exceeded' ? 'deadline_exceeded' : 'completed';
    publish('importing', `importing ${job.rows} results into ${input.sink.table}`);
    imported = await act.importResults(importInput(status, { resultsUri: job.resultsUri, job }));
    publish(
      'done',
      `${imported.rowsUpdated} rows of ${input.sink.table} updated, ${job.counts.succeeded ?? 0} of ${job.rows} succeeded`,
    );
    return { runId, status, exported, job, imported };
  } catch (err) {
    const started = jobStarted;
    await CancellationScope.nonCancellable(async () => {
      if (isCancellation(err)) {
        // The job finalized what its batches had done before it ended cancelled: keep those rows.
        publish('importing', 'cancelled: importing the rows the job finished');
        imported = await act.importResults(importInput('cancelled', started ? { resultsOfJob: jobId } : {}));
        publish('cancelled', `cancelled; ${imported.rowsUpdated} rows of ${input.sink.table} updated`);
      } else {
        publish('failed', `failed: ${err instanceof Error ? err.message : String(err)}`);
        const message = failureMessage(err);
        // Best effort: the run's row says why it failed (a broken connection may refuse this too).
        await activities(input, 3)
          .importResults(importInput('failed', { error: message }))
          .catch(() => undefined);
      }
    });
    throw err;
  }
}

function failureMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof ApplicationFailure) message = e.message;
  return message;
}
