import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { OPENAI_FAILURE_TYPES, toApplicationFailure } from '../../src/openai/errors.ts';

function apiError(status: number, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, { error: { message: `status ${status}` } }, undefined, new Headers(headers));
}

function mapped(err: unknown): ApplicationFailure {
  const result = toApplicationFailure(err, 'batches.create');
  expect(result).toBeInstanceOf(ApplicationFailure);
  return result as ApplicationFailure;
}

describe('mapping OpenAI SDK errors to ApplicationFailure', () => {
  it('429 is a retryable rate limit that honours retry-after', () => {
    const f = mapped(apiError(429, { 'retry-after': '7' }));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.rateLimit);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7_000);
  });

  it('429 with retry-after 0 still asks for a (short) retry delay, never zero', () => {
    expect(mapped(apiError(429, { 'retry-after': '0' })).nextRetryDelay).toBe(100);
  });

  it('429 with retry-after-ms uses the milliseconds', () => {
    expect(mapped(apiError(429, { 'retry-after-ms': '1500' })).nextRetryDelay).toBe(1_500);
  });

  it('400 is a non-retryable bad request', () => {
    const f = mapped(apiError(400));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.badRequest);
    expect(f.nonRetryable).toBe(true);
  });

  // Azure's fail-fast regions refuse the create itself when the enqueued-token queue is full: that
  // is "wait and resubmit", as the same code on a failed batch is, not a bad request.
  it('400 token_limit_exceeded (Azure, at create) is a retryable rate limit, after retry-after or a minute', () => {
    const body = { error: { message: 'Enqueued token limit reached', code: 'token_limit_exceeded' } };
    const f = mapped(APIError.generate(400, body, undefined, new Headers()));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.rateLimit);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(60_000);
    const withHeader = mapped(APIError.generate(400, body, undefined, new Headers({ 'retry-after': '5' })));
    expect(withHeader.nextRetryDelay).toBe(5_000);
  });

  it('401 is a non-retryable auth failure', () => {
    const f = mapped(apiError(401));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.auth);
    expect(f.nonRetryable).toBe(true);
  });

  it('403 is a non-retryable auth failure', () => {
    expect(mapped(apiError(403)).type).toBe(OPENAI_FAILURE_TYPES.auth);
  });

  it('404 is a non-retryable not-found', () => {
    const f = mapped(apiError(404));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.notFound);
    expect(f.nonRetryable).toBe(true);
  });

  it('408 is a retryable timeout', () => {
    const f = mapped(apiError(408));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.timeout);
    expect(f.nonRetryable).toBe(false);
  });

  it('409 is a retryable conflict', () => {
    expect(mapped(apiError(409)).nonRetryable).toBe(false);
  });

  it('422 is a non-retryable bad request', () => {
    expect(mapped(apiError(422)).nonRetryable).toBe(true);
  });

  it('500 is a retryable server error and keeps the SDK error as cause', () => {
    const original = apiError(500);
    const f = mapped(original);
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.server);
    expect(f.nonRetryable).toBe(false);
    expect(f.cause).toBe(original);
  });

  it('503 with retry-after is a retryable server error with that delay', () => {
    const f = mapped(apiError(503, { 'retry-after': '2' }));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.server);
    expect(f.nextRetryDelay).toBe(2_000);
  });

  it('a dropped connection is a retryable connection failure', () => {
    const f = mapped(new APIConnectionError({ message: 'socket hang up' }));
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.connection);
    expect(f.nonRetryable).toBe(false);
  });

  it('a client-side timeout is a retryable timeout', () => {
    const f = mapped(new APIConnectionTimeoutError());
    expect(f.type).toBe(OPENAI_FAILURE_TYPES.timeout);
    expect(f.nonRetryable).toBe(false);
  });

  it('a non-OpenAI error passes through unchanged', () => {
    const err = new TypeError('boom');
    expect(toApplicationFailure(err)).toBe(err);
  });
});
