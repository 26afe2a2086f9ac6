// JSON-safe types of the table enrichment pipeline (`enrichTable`) and its activities. Types only:
// sandbox-safe. The input names a database connection; it never carries a connection string.

import type { JobInput, JobSummary } from '../../common/job-types.ts';

/** A query parameter: the query's `$1`, `$2`, ... */
export type SqlParam = string | number | boolean | null;

/** Where the rows come from: one query, streamed through a cursor, never loaded whole. */
export interface EnrichSource {
  /** A SELECT with `$1`-style placeholders, e.g. `SELECT id, body FROM reviews WHERE sentiment IS NULL`. */
  readonly query: string;
  /** Values of the placeholders. @default [] */
  readonly params?: readonly SqlParam[];
  /** The column whose value becomes each request's `custom_id` and the sink's key. */
  readonly keyColumn: string;
  /** A templated column longer than this (characters) rejects its row. @default 20_000 */
  readonly maxTextChars?: number;
  /** Rows fetched per cursor read. @default 1_000 */
  readonly fetchRows?: number;
}

/** How a row becomes one request. JSON-safe: placeholders, not functions. */
export interface EnrichTemplate {
  /** @default '/v1/chat/completions' (also '/v1/responses') */
  readonly endpoint?: '/v1/chat/completions' | '/v1/responses';
  readonly model: string;
  /** The system prompt (chat) or `instructions` (responses). */
  readonly system?: string;
  /** The user prompt with `{{column}}` placeholders; a NULL column rejects its row. */
  readonly user: string;
  /** Further body parameters (temperature, max_tokens, ...), copied as they are. */
  readonly params?: Record<string, unknown>;
  /**
   * Strict structured output, as `strictJsonSchema(zodSchema)` gives it (`enrichTableInput` does
   * this from a zod schema). Also the job's `jsonSchema`, so non-conforming answers are `invalid_output`.
   */
  readonly responseFormat?: { readonly name: string; readonly schema: Record<string, unknown>; readonly strict: true };
}

/** Where results go: `UPDATE <table> ... FROM <staging>` by key, in one transaction. */
export interface EnrichSink {
  /** The table to update (optionally `schema.table`). */
  readonly table: string;
  /** Its key column, matched against the source's key. */
  readonly keyColumn: string;
  /** Fields of the structured answer -> columns, cast to each column's type (`jsonb` columns get the JSON value). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Further columns, each optional. */
  readonly columns?: {
    /** The whole parsed answer (`jsonb`). */
    readonly result?: string;
    /** The row's final status (`text`). */
    readonly status?: string;
    /** The error, for rows that did not succeed (`jsonb`); NULL when they did. */
    readonly error?: string;
    readonly model?: string;
    /** Input plus output tokens (`integer`). */
    readonly tokens?: string;
    readonly batchId?: string;
    /** `timestamptz`, set to the import's time. */
    readonly enrichedAt?: string;
  };
  /**
   * Rows that did not succeed: `keep` leaves every column as it was; `write-status` sets only
   * the status, error, batch id and enriched-at columns. @default 'keep'
   */
  readonly onFailed?: 'keep' | 'write-status';
  /**
   * `update`: `UPDATE <table> ... FROM <staging>`, rows of the table only (results with no row are
   * counted as unmatched). `upsert`: `INSERT INTO <table> ... ON CONFLICT (<keyColumn>) DO UPDATE`,
   * for a separate results table (the key column needs a unique index): a row per result, new or
   * overwritten. @default 'update'
   */
  readonly mode?: 'update' | 'upsert';
  /** One summary row per run here (created when missing). @default 'openai_batch_runs' */
  readonly runsTable?: string;
}

/** Input of `enrichTable`. */
export interface EnrichTableInput {
  /** Names the run (runs table, storage folder). @default the workflow id */
  readonly runId?: string;
  /** A name for the pipeline, in the runs table and the job's name. @default 'enrich' */
  readonly name?: string;
  /**
   * Which database: a name the worker resolves, never a connection string. A connection named in
   * the worker's `postgresConnections`, else the environment variable of that name (holding a
   * `postgres://` URL). With neither, the libpq variables (`PGHOST`, `PGUSER`, ...).
   * @default 'OPENAI_BATCH_PG_URL'
   */
  readonly connection?: string;
  readonly source: EnrichSource;
  readonly template: EnrichTemplate;
  readonly sink: EnrichSink;
  /** Rows rejected by the export (NULL or over-long text, NULL or duplicate key, invalid request). @default 'fail' */
  readonly onInvalid?: 'fail' | 'skip';
  /** Options passed to the child `openAIBatchJob` as they are. */
  readonly job?: Omit<JobInput, 'jobId' | 'inputUri' | 'endpoint' | 'onInvalid' | 'jsonSchema' | 'name'>;
}

/** Input of the `exportRows` activity. */
export interface ExportRowsInput {
  readonly runId: string;
  readonly connection?: string | undefined;
  readonly source: EnrichSource;
  readonly template: EnrichTemplate;
  /** Checked against the table before the export, so a wrong mapping fails before any upload. */
  readonly sink: EnrichSink;
  readonly onInvalid: 'fail' | 'skip';
}

/** What `exportRows` returns: references and counts. */
export interface ExportRowsResult {
  /** The request JSONL, the child job's `inputUri`. */
  readonly inputUri: string;
  readonly rows: number;
  readonly requests: number;
  readonly model: string;
  readonly rejected: { readonly count: number; readonly uri: string };
}

/** Input of the `importResults` activity (also records a run that ended before import). */
export interface ImportResultsInput {
  readonly runId: string;
  readonly name: string;
  readonly connection?: string | undefined;
  readonly sink: EnrichSink;
  readonly status: EnrichRunStatus;
  /** Epoch ms the run started. */
  readonly startedAtMs: number;
  /** The job's results.jsonl; absent when there is nothing to import. */
  readonly resultsUri?: string | undefined;
  /** A cancelled run: the job id whose results.jsonl to import, if the job got as far as writing it. */
  readonly resultsOfJob?: string | undefined;
  readonly model?: string | undefined;
  /** The template's endpoint: where the answer sits in each response. @default '/v1/chat/completions' */
  readonly endpoint?: '/v1/chat/completions' | '/v1/responses' | undefined;
  readonly exported?: ExportRowsResult | undefined;
  readonly job?: Pick<JobSummary, 'jobId' | 'counts' | 'usage' | 'costUsd' | 'syncCostUsd' | 'batchIds'> | undefined;
  readonly error?: string | undefined;
}

/** What `importResults` returns. */
export interface ImportResultsResult {
  /** Rows of the table updated with results (succeeded rows, plus failed ones with `write-status`). */
  readonly rowsUpdated: number;
  /** Results with no matching key in the table. */
  readonly unmatched: number;
  /** True when an earlier attempt had already committed this run's import: nothing was written again. */
  readonly alreadyImported: boolean;
}

export type EnrichRunStatus = 'completed' | 'cancelled' | 'failed' | 'deadline_exceeded';

export type EnrichPhase = 'exporting' | 'running' | 'importing' | 'done' | 'failed' | 'cancelled';

/** What the `enrichProgress` query returns. */
export interface EnrichProgress {
  readonly runId: string;
  readonly phase: EnrichPhase;
  readonly jobWorkflowId?: string | undefined;
  readonly exported?: ExportRowsResult | undefined;
  readonly imported?: ImportResultsResult | undefined;
}

/** What `enrichTable` returns. */
export interface EnrichSummary {
  readonly runId: string;
  readonly status: EnrichRunStatus;
  readonly exported: ExportRowsResult;
  readonly job?: JobSummary | undefined;
  readonly imported?: ImportResultsResult | undefined;
}
