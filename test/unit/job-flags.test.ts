import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobInputSchema } from '../../src/client/job-input-schema.ts';
import { JOB_FIELD_FLAGS, JOB_FLAGS, JOB_FLAGS_USAGE, jobInputFromFlags } from '../../src/tools/cli/job-flags.ts';
import { UserError } from '../../src/tools/cli/user-error.ts';

/** Every leaf field path of the job input schema (`limits.maxRequests`, ...). */
function fieldPaths(schema: z.ZodObject, prefix = ''): string[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, field]) => {
    const inner: z.ZodType = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
    return inner instanceof z.ZodObject ? fieldPaths(inner, `${prefix}${key}.`) : [`${prefix}${key}`];
  });
}

describe('job flags map one to one to the job input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'job-flags-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('every field of the job input (but the input file, the positional argument) has its flag, documented in --help', () => {
    const fields = fieldPaths(jobInputSchema).filter((f) => f !== 'inputUri');
    expect(fields.filter((f) => !JOB_FIELD_FLAGS[f])).toEqual([]);
    for (const field of fields) {
      const flag = JOB_FIELD_FLAGS[field] as string;
      expect(Object.keys(JOB_FLAGS), field).toContain(flag.slice(2));
      expect(JOB_FLAGS_USAGE, flag).toContain(`${flag} `);
    }
  });

  it('every flag set gives the field it names', async () => {
    const prices = join(dir, 'prices.json');
    await writeFile(prices, JSON.stringify({ 'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 } }));
    const schema = join(dir, 'schema.json');
    await writeFile(schema, JSON.stringify({ type: 'object' }));
    const input = await jobInputFromFlags(
      {
        endpoint: '/v1/embeddings',
        name: 'n',
        'job-id': 'j-1',
        'on-invalid': 'skip',
        'max-active-batches': '4',
        'max-rounds': '2',
        'max-requests-per-batch': '100',
        'max-bytes-per-batch': '1000000',
        'max-tokens-per-batch': '90000',
        'max-embedding-inputs-per-batch': '500',
        prices,
        'max-cost-usd': '12.5',
        deadline: '2026-11-23T06:00:00Z',
        'json-schema': schema,
        'retry-invalid-output': true,
        'poll-min-seconds': '30',
        'poll-max-seconds': '600',
        'validating-poll-seconds': '1.5',
        'progress-refresh-seconds': '900',
        'token-limit-backoff-seconds': '120',
        'heartbeat-timeout-seconds': '30',
        'max-token-limit-retries': '5',
        'continue-as-new-after-events': '5000',
        'openai-file-ttl-seconds': '86400',
      },
      'file:///in.jsonl',
      undefined,
    );
    expect(input).toEqual({
      inputUri: 'file:///in.jsonl',
      endpoint: '/v1/embeddings',
      name: 'n',
      jobId: 'j-1',
      onInvalid: 'skip',
      maxActiveBatches: 4,
      maxRounds: 2,
      limits: { maxRequests: 100, maxBytes: 1_000_000, maxTokensPerBatch: 90_000, maxEmbeddingInputs: 500 },
      prices: { 'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 } },
      maxCostUsd: 12.5,
      deadline: '2026-11-23T06:00:00Z',
      jsonSchema: { type: 'object' },
      retryInvalidOutput: true,
      continueAsNewAfterEvents: 5000,
      openaiFileTtlSeconds: 86_400,
      wait: {
        minPollMs: 30_000,
        maxPollMs: 600_000,
        validatingPollMs: 1_500,
        progressRefreshMs: 900_000,
        tokenLimitBackoffMs: 120_000,
        heartbeatTimeoutMs: 30_000,
        maxTokenLimitRetries: 5,
      },
    });
  });

  it('a bad value is one line naming the flag', async () => {
    const bad = (values: Parameters<typeof jobInputFromFlags>[0]) =>
      jobInputFromFlags({ endpoint: '/v1/chat/completions', ...values }, 'file:///in.jsonl', undefined).catch(
        (e: unknown) => e,
      );
    const refresh = await bad({ 'progress-refresh-seconds': '0.01' });
    expect(refresh).toBeInstanceOf(UserError);
    expect((refresh as Error).message).toMatch(/^--progress-refresh-seconds: /);
    const prices = join(dir, 'bad-prices.json');
    await writeFile(prices, JSON.stringify({ 'gpt-4o-mini': { input: -1, cachedInput: 0, output: 0 } }));
    expect(((await bad({ prices })) as Error).message).toMatch(/^--prices: /);
    expect(((await bad({ prices: join(dir, 'missing.json') })) as Error).message).toContain('--prices');
  });
});
