import { APIError } from 'openai';
import type { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toApplicationFailure } from '../../src/openai/errors.ts';
import { redactKeys } from '../../src/openai/redact.ts';

describe('API keys in OpenAI error messages', () => {
  it('a masked key as OpenAI quotes it is redacted, the sentence around it kept', () => {
    expect(redactKeys('Incorrect API key provided: sk-proj-****abcd. You can find your API key at …')).toBe(
      'Incorrect API key provided: sk-…(redacted). You can find your API key at …',
    );
  });

  it('a whole key is redacted; words that merely contain "sk-" are not', () => {
    expect(redactKeys('key sk-proj-AbC123_xyz-789 and sk-svcacct-QQQQ')).toBe('key sk-…(redacted) and sk-…(redacted)');
    expect(redactKeys('a risk-free, desk-bound task')).toBe('a risk-free, desk-bound task');
  });

  it('a 401 maps to a failure whose message and cause name no key', () => {
    const original = APIError.generate(
      401,
      {
        error: {
          message: 'Incorrect API key provided: sk-proj-****abcd.',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
      undefined,
      new Headers(),
    );
    const f = toApplicationFailure(original, 'files.create') as ApplicationFailure;
    expect(f.message).toContain('Incorrect API key provided: sk-…(redacted).');
    expect(f.message).not.toContain('abcd');
    expect(f.cause).toBe(original);
    expect(original.message).not.toContain('abcd');
    expect(original.stack ?? '').not.toContain('abcd');
  });
});
