// The project's metrics emitted by activities, through the activity's own meter (the SDK tags it
// with namespace, task queue and activity type). Outside an activity (unit tests) nothing is emitted.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { METRICS, type MetricSpec } from '../common/metric-names.ts';

/** The job's labels (job_name, endpoint, model) the workflow gave the activity running now. */
const jobTags = new AsyncLocalStorage<MetricTags>();

/**
 * Runs `work` so that the metrics it records carry `tags`: the workflow passes its job's labels in
 * the activity's input (`metricTags`), as an activity knows its workflow's id, not its job's name.
 */
export function withMetricTags<T>(tags: MetricTags | undefined, work: () => Promise<T>): Promise<T> {
  return tags ? jobTags.run(tags, work) : work();
}

function meter(): MetricMeter | undefined {
  try {
    const base = Context.current().metricMeter;
    const tags = jobTags.getStore();
    return tags ? base.withTags(tags) : base;
  } catch {
    return undefined;
  }
}

function add(spec: MetricSpec, value: number, tags: MetricTags = {}): void {
  if (value <= 0) return;
  meter()?.createCounter(spec.name, spec.unit, spec.description).add(value, tags);
}

/** One poll of a batch, by the status it found; `pastDeadline` when it still runs past its deadline. */
export function recordPoll(status: string, pastDeadline: boolean, tags: MetricTags = {}): void {
  add(METRICS.polls, 1, { ...tags, status });
  if (pastDeadline) add(METRICS.pollsPastDeadline, 1, tags);
}

/** Bytes OpenAI accepted in one upload call. */
export function recordBytesUploaded(bytes: number): void {
  add(METRICS.bytesUploaded, bytes);
}

/** Bytes of one file downloaded whole. */
export function recordBytesDownloaded(bytes: number): void {
  add(METRICS.bytesDownloaded, bytes);
}
