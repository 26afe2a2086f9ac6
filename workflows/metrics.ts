// The project's metrics emitted by workflow code, through the SDK's workflow meter: the SDK drops
// every value emitted while a history replays, so a job counts once however often it is replayed.
// Emitting adds no command and no history event.
import type { MetricTags } from '@temporalio/common';
import { metricMeter } from '@temporalio/workflow';
import type { ChunkEnd, ChunkInput, JobSummary, RowStatus, TokenUsage } from '../common/job-types.ts';
import { METRICS, type MetricSpec } from '../common/metric-names.ts';

function counter(spec: MetricSpec) {
  return metricMeter.createCounter(spec.name, spec.unit, spec.description);
}

function histogram(spec: MetricSpec) {
  return metricMeter.createHistogram(spec.name, 'float', spec.unit, spec.description);
}

/** The labels of a job's metrics: bounded (a job's name, never its id). */
export function jobLabels(name: string | undefined, endpoint: string, model: string): Record<string, string> {
  return { job_name: name ?? 'unnamed', endpoint, model };
}

const TOKEN_KINDS: Record<keyof TokenUsage, string> = {
  input: 'input',
  cachedInput: 'cached_input',
  output: 'output',
  reasoning: 'reasoning',
};

/**
 * A finished job's rows, tokens, cost and duration: the figures of its report.json, so that the
 * counters summed over jobs equal the reports summed over jobs.
 */
export function recordJobEnd(
  labels: MetricTags,
  summary: Pick<JobSummary, 'status' | 'counts' | 'usage' | 'costUsd' | 'syncCostUsd'>,
  durationMs: number,
): void {
  const rows = counter(METRICS.rows);
  for (const [status, n] of Object.entries(summary.counts) as [RowStatus, number][])
    if (n > 0) rows.add(n, { ...labels, status });
  const tokens = counter(METRICS.tokens);
  for (const [key, kind] of Object.entries(TOKEN_KINDS) as [keyof TokenUsage, string][])
    if (summary.usage[key] > 0) tokens.add(summary.usage[key], { ...labels, kind });
  histogram(METRICS.cost).record(summary.costUsd, labels);
  histogram(METRICS.syncCost).record(summary.syncCostUsd, labels);
  counter(METRICS.jobs).add(1, { ...labels, status: summary.status });
  histogram(METRICS.jobDuration).record(Math.max(0, durationMs) / 1000, { ...labels, status: summary.status });
}

/** The labels of a chunk's metrics, its job's: the activities it runs record them too (`metricTags`). */
export function chunkLabels(input: Pick<ChunkInput, 'endpoint' | 'model' | 'jobName'>): Record<string, string> {
  return { job_name: input.jobName ?? 'unnamed', endpoint: input.endpoint, model: input.model };
}

/** A batch the chunk created, or adopted (found by its key: a create whose answer was lost). */
export function recordBatchSubmitted(labels: MetricTags, adopted: boolean): void {
  counter(adopted ? METRICS.batchesAdopted : METRICS.batchesCreated).add(1, labels);
}

/** A batch that failed with token_limit_exceeded (it ended: no collect follows) and waits to be resubmitted. */
export function recordTokenLimitBackoff(labels: MetricTags): void {
  counter(METRICS.tokenLimitBackoffs).add(1, labels);
  counter(METRICS.batchesEnded).add(1, { ...labels, status: 'failed' });
}

/**
 * A chunk collected: its batch's end (status and, when OpenAI said, how long ago it ended) and the
 * chunk's duration since its first run started.
 */
export function recordChunkCollected(
  labels: MetricTags,
  end: ChunkEnd,
  batch: { readonly status: string; readonly endedAtMs?: number | undefined } | undefined,
  nowMs: number,
  startedAtMs: number,
): void {
  if (batch && end !== 'not_submitted') {
    counter(METRICS.batchesEnded).add(1, { ...labels, status: batch.status });
    if (batch.endedAtMs !== undefined)
      histogram(METRICS.collectDelay).record(Math.max(0, nowMs - batch.endedAtMs) / 1000, {
        ...labels,
        status: batch.status,
      });
  }
  histogram(METRICS.chunkDuration).record(Math.max(0, nowMs - startedAtMs) / 1000, { ...labels, end });
}
