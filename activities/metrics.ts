// The project's metrics emitted by activities, through the activity's own meter (the SDK tags it
// with namespace, task queue and activity type). Outside an activity (unit tests) nothing is emitted.
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { METRICS, type MetricSpec } from '../common/metric-names.ts';

function meter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

function add(spec: MetricSpec, value: number, tags: Record<string, string> = {}): void {
  if (value <= 0) return;
  meter()?.createCounter(spec.name, spec.unit, spec.description).add(value, tags);
}

/** One poll of a batch, by the status it found; `pastDeadline` when it still runs past its deadline. */
export function recordPoll(status: string, pastDeadline: boolean): void {
  add(METRICS.polls, 1, { status });
  if (pastDeadline) add(METRICS.pollsPastDeadline, 1);
}

/** Bytes OpenAI accepted in one upload call. */
export function recordBytesUploaded(bytes: number): void {
  add(METRICS.bytesUploaded, bytes);
}

/** Bytes of one file downloaded whole. */
export function recordBytesDownloaded(bytes: number): void {
  add(METRICS.bytesDownloaded, bytes);
}
