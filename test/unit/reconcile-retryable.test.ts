import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../src/reconcile/index.ts';

describe('the retryable table', () => {
  const failed = (code: string | null, httpStatus?: number) => isRetryable({ status: 'failed', code, httpStatus });
  it.each([
    ['rate_limit_exceeded', 429, true],
    ['token_limit_exceeded', undefined, true],
    ['server_error', 500, true],
    ['timeout', undefined, true],
    ['batch_expired', undefined, true],
    ['insufficient_quota', 429, false],
    ['context_length_exceeded', 400, false],
    ['invalid_request_error', 400, false],
    ['content_policy_violation', 400, false],
    ['not_submitted', undefined, false],
  ] as const)('failed with code %s (HTTP %s) is retryable: %s', (code, status, expected) => {
    expect(failed(code, status)).toBe(expected);
  });
  it.each([
    [408, true],
    [409, true],
    [429, true],
    [502, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
  ])('failed with an unlisted code and HTTP %i is retryable: %s', (status, expected) => {
    expect(failed('something_new', status)).toBe(expected);
    expect(failed(null, status)).toBe(expected);
  });
  it('expired and missing rows are retryable; succeeded rows never', () => {
    expect(isRetryable({ status: 'expired' })).toBe(true);
    expect(isRetryable({ status: 'missing' })).toBe(true);
    expect(isRetryable({ status: 'succeeded', code: 'rate_limit_exceeded' })).toBe(false);
  });
  it('cancelled rows are retryable only when the deadline cancelled the batch', () => {
    expect(isRetryable({ status: 'cancelled' })).toBe(false);
    expect(isRetryable({ status: 'cancelled', cancelledByDeadline: true })).toBe(true);
  });
  it('invalid output is retryable only when the job opts in', () => {
    expect(isRetryable({ status: 'invalid_output' })).toBe(false);
    expect(isRetryable({ status: 'invalid_output', retryInvalidOutput: true })).toBe(true);
  });
});
