import { describe, expect, it } from 'vitest';
import { JobInputError, parseJobInput } from '../../src/client/job-input-schema.ts';

function refusal(input: Record<string, unknown>): JobInputError | undefined {
  try {
    parseJobInput({ inputUri: 'inputs/a.jsonl', endpoint: '/v1/chat/completions', ...input });
  } catch (err) {
    if (err instanceof JobInputError) return err;
    throw err;
  }
  return undefined;
}

describe('options that are each valid but cannot work together are refused, naming both fields and the fix', () => {
  it('a file TTL shorter than the time to notice a finished batch (maxPollMs) and download its output is refused', () => {
    const err = refusal({ openaiFileTtlSeconds: 3_600 });
    expect(err?.issues.map((i) => i.path)).toEqual(['openaiFileTtlSeconds']);
    expect(err?.message).toContain('wait.maxPollMs');
    expect(err?.message).toContain('at least 5400');
  });

  it('the same TTL is accepted once maxPollMs leaves room for the download', () => {
    expect(refusal({ openaiFileTtlSeconds: 3_600, wait: { maxPollMs: 600_000 } })).toBeUndefined();
    expect(refusal({ openaiFileTtlSeconds: 5_400 })).toBeUndefined();
  });

  it('minPollMs longer than maxPollMs is refused', () => {
    const err = refusal({ wait: { minPollMs: 120_000, maxPollMs: 60_000 } });
    expect(err?.issues.map((i) => i.path)).toEqual(['wait.minPollMs']);
    expect(err?.message).toContain('wait.maxPollMs');
  });

  it('maxTokenLimitRetries is a whole number from 0', () => {
    expect(refusal({ wait: { maxTokenLimitRetries: 0 } })).toBeUndefined();
    expect(refusal({ wait: { maxTokenLimitRetries: -1 } })?.issues.map((i) => i.path)).toEqual([
      'wait.maxTokenLimitRetries',
    ]);
  });
});
