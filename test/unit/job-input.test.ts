import { describe, expect, it } from 'vitest';
import { JobInputError, parseJobInput } from '../../src/client/job-input-schema.ts';

function issues(input: unknown): string[] {
  try {
    parseJobInput(input);
  } catch (err) {
    expect(err).toBeInstanceOf(JobInputError);
    return (err as JobInputError).issues.map((i) => i.path);
  }
  return [];
}

describe('validating a job input before it reaches Temporal', () => {
  it('accepts a minimal input', () => {
    expect(parseJobInput({ inputUri: 'inputs/a.jsonl', endpoint: '/v1/chat/completions' })).toMatchObject({
      endpoint: '/v1/chat/completions',
    });
  });

  it('names each bad field by its path', () => {
    expect(
      issues({ inputUri: '', endpoint: '/v1/nope', maxActiveBatches: 0, limits: { maxRequests: 200_000 } }).sort(),
    ).toEqual(['endpoint', 'inputUri', 'limits.maxRequests', 'maxActiveBatches'].sort());
  });

  it('refuses unknown fields, so that a secret such as an API key never lands in workflow history', () => {
    expect(issues({ inputUri: 'a.jsonl', endpoint: '/v1/embeddings', openaiApiKey: 'sk-secret' })).toEqual(['']);
    const message = (() => {
      try {
        parseJobInput({ inputUri: 'a.jsonl', endpoint: '/v1/embeddings', openaiApiKey: 'sk-secret' });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toContain('openaiApiKey');
    expect(message).not.toContain('sk-secret');
  });

  it('accepts a deadline as epoch milliseconds or an ISO date with offset', () => {
    expect(parseJobInput({ inputUri: 'a', endpoint: '/v1/responses', deadline: '2026-01-01T09:00:00Z' }).deadline).toBe(
      '2026-01-01T09:00:00Z',
    );
    expect(issues({ inputUri: 'a', endpoint: '/v1/responses', deadline: 'tomorrow' })).toEqual(['deadline']);
  });
});
