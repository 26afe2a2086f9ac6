import type pg from 'pg';
import type { ImportResultsInput, ImportResultsResult } from '../../workflows/enrich/enrich-types.ts';
import { quoteName } from './sql-names.ts';

/** The runs table a pipeline writes when its sink names none. */
export const DEFAULT_RUNS_TABLE = 'openai_batch_runs';

/** Creates the runs table when it is missing: one row per run, for dashboards. */
export async function ensureRunsTable(client: pg.Client, runsTable: string): Promise<void> {
  const table = quoteName(runsTable, 'runs table', true);
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
    run_id text PRIMARY KEY,
    pipeline text NOT NULL,
    status text NOT NULL,
    imported boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    duration_ms bigint,
    rows_exported integer,
    rejected integer,
    requests integer,
    succeeded integer,
    not_succeeded integer,
    rows_updated integer,
    unmatched integer,
    input_tokens bigint,
    output_tokens bigint,
    cost_usd numeric,
    sync_cost_usd numeric,
    model text,
    job_id text,
    batch_ids text[],
    error text
  )`);
}

/**
 * Inserts the run's row if it is missing and locks it: a second attempt of the same import waits
 * here for the first to commit or roll back, then sees whether it already imported.
 */
export async function lockRun(
  client: pg.Client,
  runsTable: string,
  input: Pick<ImportResultsInput, 'runId' | 'name' | 'startedAtMs' | 'status'>,
): Promise<{ imported: boolean; rowsUpdated: number; unmatched: number }> {
  const table = quoteName(runsTable, 'runs table', true);
  await client.query(
    `INSERT INTO ${table} (run_id, pipeline, status, started_at) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0))
       ON CONFLICT (run_id) DO NOTHING`,
    [input.runId, input.name, input.status, input.startedAtMs],
  );
  const { rows } = await client.query<{ imported: boolean; rows_updated: number | null; unmatched: number | null }>(
    `SELECT imported, rows_updated, unmatched FROM ${table} WHERE run_id = $1 FOR UPDATE`,
    [input.runId],
  );
  const row = rows[0];
  return { imported: row?.imported ?? false, rowsUpdated: row?.rows_updated ?? 0, unmatched: row?.unmatched ?? 0 };
}

/** Writes the run's counts, cost and duration (in the import's transaction). */
export async function finishRun(
  client: pg.Client,
  runsTable: string,
  input: ImportResultsInput,
  imported: Omit<ImportResultsResult, 'alreadyImported'> | undefined,
): Promise<void> {
  const table = quoteName(runsTable, 'runs table', true);
  const counts = input.job?.counts ?? {};
  const succeeded = counts.succeeded ?? 0;
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  await client.query(
    `UPDATE ${table} SET status = $2, imported = $3, finished_at = now(),
       duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint,
       rows_exported = $4, rejected = $5, requests = $6, succeeded = $7, not_succeeded = $8,
       rows_updated = $9, unmatched = $10, input_tokens = $11, output_tokens = $12,
       cost_usd = $13, sync_cost_usd = $14, model = $15, job_id = $16, batch_ids = $17, error = $18
     WHERE run_id = $1`,
    [
      input.runId,
      input.status,
      imported !== undefined,
      input.exported?.rows ?? null,
      input.exported?.rejected.count ?? null,
      input.exported?.requests ?? null,
      input.job ? succeeded : null,
      input.job ? total - succeeded : null,
      imported?.rowsUpdated ?? null,
      imported?.unmatched ?? null,
      input.job?.usage.input ?? null,
      input.job?.usage.output ?? null,
      input.job?.costUsd ?? null,
      input.job?.syncCostUsd ?? null,
      input.model ?? null,
      input.job?.jobId ?? null,
      input.job ? [...input.job.batchIds] : null,
      input.error ?? null,
    ],
  );
}
