import type { BatchRecord } from '../state/records.ts';
import { ZERO_USAGE } from '../state/records.ts';
import { failedAmong, type BatchMoment } from './batch-timeline.ts';

const sec = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/**
 * The `Batch` object as the API returns it: every field present, `null` where OpenAI sends null,
 * Unix seconds for timestamps.
 */
export function batchObject(record: BatchRecord, moment: BatchMoment): Record<string, unknown> {
  const validation = record.validation;
  const final = record.final;
  const failed = moment.status === 'failed' && validation && !validation.ok ? validation.errors : null;
  let requestCounts = { total: 0, completed: 0, failed: 0 };
  if (final) requestCounts = final.request_counts;
  else if (validation?.ok) {
    const failedSoFar = failedAmong(validation.failedRows, moment.processed);
    requestCounts = { total: validation.total, completed: moment.processed - failedSoFar, failed: failedSoFar };
  }
  return {
    id: record.id,
    object: 'batch',
    endpoint: record.endpoint,
    model: validation?.ok ? validation.model : null,
    errors: failed ? { object: 'list', data: failed } : null,
    input_file_id: record.input_file_id,
    completion_window: record.completion_window,
    status: moment.status,
    output_file_id: final?.output_file_id ?? null,
    error_file_id: final?.error_file_id ?? null,
    created_at: sec(record.createdAtMs),
    in_progress_at: sec(moment.at.in_progress),
    expires_at: sec(moment.expiresAtMs),
    finalizing_at: sec(moment.at.finalizing),
    completed_at: sec(moment.at.completed),
    failed_at: sec(moment.at.failed),
    expired_at: sec(moment.at.expired),
    cancelling_at: sec(moment.at.cancelling),
    cancelled_at: sec(moment.at.cancelled),
    request_counts: requestCounts,
    metadata: record.metadata,
    usage: final?.usage ?? ZERO_USAGE,
  };
}
