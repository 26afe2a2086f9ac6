import type { RowStatus } from './row-status.ts';

/**
 * The one table of per-row error codes that a retry round may fix. Codes not listed are terminal
 * (bad requests, context too long, content policy, quota): resubmitting them costs money and
 * fails the same way.
 */
export const RETRYABLE_CODES: Readonly<Record<string, boolean>> = {
  rate_limit_exceeded: true,
  token_limit_exceeded: true,
  server_error: true,
  internal_error: true,
  service_unavailable: true,
  timeout: true,
  request_timeout: true,
  batch_expired: true,
  insufficient_quota: false,
  invalid_request_error: false,
  context_length_exceeded: false,
  content_policy_violation: false,
  invalid_prompt: false,
  model_not_found: false,
  not_submitted: false,
  batch_cancelled: false,
};

/** HTTP statuses that mean "try again": timeout, conflict, rate limit, and every server error. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export interface RetryableQuestion {
  readonly status: RowStatus;
  readonly code?: string | null | undefined;
  readonly httpStatus?: number | null | undefined;
  /** The batch was cancelled because its deadline passed, not by an operator. */
  readonly cancelledByDeadline?: boolean | undefined;
  /** The job retries rows whose content failed its JSON schema. */
  readonly retryInvalidOutput?: boolean | undefined;
}

/** Whether a row belongs in the next retry round. */
export function isRetryable(q: RetryableQuestion): boolean {
  switch (q.status) {
    case 'succeeded':
    case 'rejected':
      return false;
    case 'expired':
    case 'missing':
      return true;
    case 'cancelled':
      return q.cancelledByDeadline === true;
    case 'invalid_output':
      return q.retryInvalidOutput === true;
    case 'failed': {
      const byCode = q.code ? RETRYABLE_CODES[q.code] : undefined;
      if (byCode !== undefined) return byCode;
      return q.httpStatus !== undefined && q.httpStatus !== null && isRetryableHttpStatus(q.httpStatus);
    }
  }
}
