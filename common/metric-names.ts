// The project's metrics: one list, read by the emitters (workflows/metrics.ts, activities/metrics.ts),
// the telemetry options (histogram buckets), the README, the dashboard test and the proof test.
// Pure data: sandbox-safe.

/** Who emits a metric: a workflow (replay-safe, through `workflow.metricMeter`) or an activity. */
export type MetricSource = 'job workflow' | 'chunk workflow' | 'activity';

/** One metric the worker exports. Labels are bounded: never a job id, batch id or custom_id. */
export interface MetricSpec {
  readonly name: string;
  readonly kind: 'counter' | 'histogram';
  readonly source: MetricSource;
  /** The project's labels (the SDK adds namespace, task_queue and workflow_type or activity_type). */
  readonly labels: readonly string[];
  readonly unit: string;
  readonly description: string;
  /** Histogram bucket boundaries. */
  readonly buckets?: readonly number[];
}

const JOB_LABELS = ['job_name', 'endpoint', 'model'] as const;
const COST_BUCKETS = [0.01, 0.1, 1, 10, 100, 1_000, 10_000] as const;
const DURATION_BUCKETS = [60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 172_800] as const;

export const METRICS = {
  rows: {
    name: 'openai_batch_rows_total',
    kind: 'counter',
    source: 'job workflow',
    labels: [...JOB_LABELS, 'status'],
    unit: 'rows',
    description: 'Rows of finished jobs by final status (as report.json counts them)',
  },
  tokens: {
    name: 'openai_batch_tokens_total',
    kind: 'counter',
    source: 'job workflow',
    labels: [...JOB_LABELS, 'kind'],
    unit: 'tokens',
    description: 'Tokens of finished jobs by kind: input, cached_input, output, reasoning (as report.json)',
  },
  cost: {
    name: 'openai_batch_job_cost_usd',
    kind: 'histogram',
    source: 'job workflow',
    labels: JOB_LABELS,
    unit: 'USD',
    description: 'Cost of each finished job at batch prices; _sum is the total cost (report.json costUsd)',
    buckets: COST_BUCKETS,
  },
  syncCost: {
    name: 'openai_batch_job_sync_cost_usd',
    kind: 'histogram',
    source: 'job workflow',
    labels: JOB_LABELS,
    unit: 'USD',
    description:
      'What each finished job would have cost through the synchronous API, the cost it avoided; _sum is the total (report.json syncCostUsd)',
    buckets: COST_BUCKETS,
  },
  jobs: {
    name: 'openai_batch_jobs_total',
    kind: 'counter',
    source: 'job workflow',
    labels: [...JOB_LABELS, 'status'],
    unit: 'jobs',
    description: 'Jobs that finished, by status (completed, deadline_exceeded, cancelled, failed)',
  },
  jobDuration: {
    name: 'openai_batch_job_duration_seconds',
    kind: 'histogram',
    source: 'job workflow',
    labels: [...JOB_LABELS, 'status'],
    unit: 's',
    description: 'From planning to the end of finalize, per finished job',
    buckets: DURATION_BUCKETS,
  },
  batchesCreated: {
    name: 'openai_batch_batches_created_total',
    kind: 'counter',
    source: 'chunk workflow',
    labels: JOB_LABELS,
    unit: 'batches',
    description: 'Batches created at OpenAI',
  },
  batchesAdopted: {
    name: 'openai_batch_batches_adopted_total',
    kind: 'counter',
    source: 'chunk workflow',
    labels: JOB_LABELS,
    unit: 'batches',
    description:
      'Batches found by their idempotency key instead of created (a create whose answer was lost, e.g. a crash)',
  },
  batchesEnded: {
    name: 'openai_batch_batches_ended_total',
    kind: 'counter',
    source: 'chunk workflow',
    labels: [...JOB_LABELS, 'status'],
    unit: 'batches',
    description:
      'Batches that ended, by final status (completed, expired, cancelled, failed; a token_limit_exceeded failure too)',
  },
  tokenLimitBackoffs: {
    name: 'openai_batch_token_limit_backoffs_total',
    kind: 'counter',
    source: 'chunk workflow',
    labels: JOB_LABELS,
    unit: 'backoffs',
    description: 'Batches that failed with token_limit_exceeded and wait to be resubmitted',
  },
  collectDelay: {
    name: 'openai_batch_collect_delay_seconds',
    kind: 'histogram',
    source: 'chunk workflow',
    labels: [...JOB_LABELS, 'status'],
    unit: 's',
    description: "From a batch's end at OpenAI (completed_at, expired_at, cancelled_at) to its rows collected",
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200],
  },
  chunkDuration: {
    name: 'openai_batch_chunk_duration_seconds',
    kind: 'histogram',
    source: 'chunk workflow',
    labels: [...JOB_LABELS, 'end'],
    unit: 's',
    description: "From a chunk workflow's start (its first run) to its rows collected, by how it ended",
    buckets: DURATION_BUCKETS,
  },
  polls: {
    name: 'openai_batch_polls_total',
    kind: 'counter',
    source: 'activity',
    labels: [...JOB_LABELS, 'status'],
    unit: 'polls',
    description: "Polls of a batch (batches.retrieve by the wait), by the batch's status",
  },
  pollsPastDeadline: {
    name: 'openai_batch_polls_past_deadline_total',
    kind: 'counter',
    source: 'activity',
    labels: JOB_LABELS,
    unit: 'polls',
    description: "Polls that found a batch still running past its job's deadline or its 24 h completion window",
  },
  bytesUploaded: {
    name: 'openai_batch_bytes_uploaded_total',
    kind: 'counter',
    source: 'activity',
    labels: JOB_LABELS,
    unit: 'bytes',
    description: 'Bytes of chunk files uploaded to OpenAI (files and upload parts accepted)',
  },
  bytesDownloaded: {
    name: 'openai_batch_bytes_downloaded_total',
    kind: 'counter',
    source: 'activity',
    labels: JOB_LABELS,
    unit: 'bytes',
    description: 'Bytes of batch output and error files downloaded from OpenAI',
  },
} as const satisfies Record<string, MetricSpec>;

/** Every metric as a list. */
export const METRIC_LIST: readonly MetricSpec[] = Object.values(METRICS);

/**
 * The series names a Prometheus scrape shows for the project's metrics (a histogram as its
 * `_bucket`, `_sum` and `_count`).
 */
export function exportedSeriesNames(): string[] {
  return METRIC_LIST.flatMap((m) =>
    m.kind === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
  );
}
