import { activityInfo, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../common/failures.ts';
import type { JobSummary } from '../common/job-types.ts';
import { connect, pgFailure, resolveConnection, type PostgresConnections } from '../src/pipeline/connection.ts';
import { checkSink, importIntoSink } from '../src/pipeline/pg-sink.ts';
import { exportRows } from '../src/pipeline/pg-source.ts';
import { DEFAULT_RUNS_TABLE, ensureRunsTable, finishRun, lockRun } from '../src/pipeline/runs-table.ts';
import { openStorage, readSmallText, type BlobStorage } from '../src/storage/index.ts';
import type {
  ExportRowsInput,
  ExportRowsResult,
  ImportResultsInput,
  ImportResultsResult,
} from '../workflows/enrich/enrich-types.ts';
import type { CrashHook } from './crash-point.ts';
import { withHeartbeats } from './heartbeat.ts';

/** What the pipeline activities need from the worker. */
export interface EnrichActivityDeps {
  readonly storageRoot: string;
  /** Named connections; a name not here is read from the environment variable of that name. */
  readonly postgresConnections?: PostgresConnections | undefined;
  readonly crashHook?: CrashHook | undefined;
}

/** `exportRows` and `importResults`: the Postgres ends of `enrichTable`. */
export function createEnrichActivities(deps: EnrichActivityDeps) {
  const storage = openStorage(deps.storageRoot);
  const crash: CrashHook = deps.crashHook ?? (() => undefined);
  const resultsOf = async (jobId: string | undefined): Promise<string | undefined> => {
    const uri = jobId === undefined ? undefined : storage.jobUri(jobId, 'results.jsonl');
    return uri && (await storage.exists(uri)) ? uri : undefined;
  };
  return {
    /** Streams the source query into the request JSONL; rejected rows fail the run unless `skip`. */
    async exportRows(input: ExportRowsInput): Promise<ExportRowsResult> {
      const client = await connect(resolveConnection(input.connection, deps.postgresConnections), input.connection);
      let rows = 0;
      try {
        try {
          await checkSink(client, input.sink);
        } catch (err) {
          throw pgFailure(err, `checking the sink table ${input.sink.table}`);
        }
        const done = await withHeartbeats(
          () =>
            exportRows(client, storage, {
              runId: input.runId,
              source: input.source,
              template: input.template,
              onProgress: (n) => {
                rows = n;
                // After each cursor read: the first with rows still to come is "during the export".
                if (n > 0) crash('during-export');
                if (Context.current().cancellationSignal.aborted) throw Context.current().cancellationSignal.reason;
              },
            }),
          () => ({ rows }),
        );
        const { firstRejected, ...result } = done;
        if (result.rejected.count > 0 && input.onInvalid === 'fail')
          throw ApplicationFailure.create({
            message:
              `${result.rejected.count} of ${result.rows} rows cannot be sent (nothing was uploaded): ` +
              firstRejected.map((r) => `key ${r.key ?? 'NULL'} (row ${r.row}): ${r.reason}, ${r.message}`).join('; ') +
              `${result.rejected.count > firstRejected.length ? '; ...' : ''}. Every rejected row is in ${result.rejected.uri}; ` +
              "fix the rows or the query, or set onInvalid: 'skip'",
            type: FAILURE_TYPES.invalidInput,
            nonRetryable: true,
            details: [{ rejected: result.rejected }],
          });
        return { ...result, model: input.template.model };
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    /**
     * Writes the job's results back and the run's row, in one transaction. A retry after a crash
     * before the commit repeats it whole; one after the commit finds the run imported and writes nothing.
     */
    async importResults(input: ImportResultsInput): Promise<ImportResultsResult> {
      const client = await connect(resolveConnection(input.connection, deps.postgresConnections), input.connection);
      const runsTable = input.sink.runsTable ?? DEFAULT_RUNS_TABLE;
      try {
        return await withHeartbeats(async () => {
          try {
            await client.query('BEGIN');
            await ensureRunsTable(client, runsTable);
            const run = await lockRun(client, runsTable, input);
            if (run.imported) {
              await client.query('ROLLBACK');
              Context.current().log.info('importResults: this run was already imported; nothing written', {
                runId: input.runId,
                attempt: activityInfo().attempt,
              });
              return { rowsUpdated: run.rowsUpdated, unmatched: run.unmatched, alreadyImported: true };
            }
            const resultsUri = input.resultsUri ?? (await resultsOf(input.resultsOfJob));
            // A cancelled run has no job summary: its counts and cost are in the report the job wrote.
            const job = input.job ?? (await cancelledJobOf(storage, input.resultsOfJob));
            const imported = resultsUri
              ? await importIntoSink(client, storage, {
                  sink: input.sink,
                  resultsUri,
                  endpoint: input.endpoint ?? '/v1/chat/completions',
                  model: input.model ?? null,
                })
              : undefined;
            await finishRun(client, runsTable, job ? { ...input, job } : input, imported);
            crash('import-before-commit');
            await client.query('COMMIT');
            crash('import-after-commit');
            return {
              rowsUpdated: imported?.rowsUpdated ?? 0,
              unmatched: imported?.unmatched ?? 0,
              alreadyImported: false,
            };
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw pgFailure(err, 'importing results');
          }
        });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/** What a cancelled job's report.json says it did: the runs table's counts, tokens, cost and batches. */
async function cancelledJobOf(
  storage: BlobStorage,
  jobId: string | undefined,
): Promise<ImportResultsInput['job'] | undefined> {
  if (jobId === undefined) return undefined;
  const uri = storage.jobUri(jobId, 'report.json');
  if (!(await storage.exists(uri))) return undefined;
  const report = JSON.parse(await readSmallText(storage, uri)) as Pick<
    JobSummary,
    'counts' | 'usage' | 'costUsd' | 'syncCostUsd'
  > & { rounds?: { batchIds?: (string | null)[] }[] };
  return {
    jobId,
    counts: report.counts,
    usage: report.usage,
    costUsd: report.costUsd,
    syncCostUsd: report.syncCostUsd,
    batchIds: (report.rounds ?? []).flatMap((r) => (r.batchIds ?? []).filter((id): id is string => Boolean(id))),
  };
}

export type EnrichActivities = ReturnType<typeof createEnrichActivities>;
