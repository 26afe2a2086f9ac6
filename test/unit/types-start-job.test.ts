// startBatchJob's input is typed by the zod schema (`npm run typecheck` fails if one of the lines
// below marked as an expected error compiles), and the runtime check still refuses the same mistakes
// from callers the types do not reach (JavaScript, JSON from elsewhere).
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { startBatchJob, type StartJobInput } from '../../src/client/job-client.ts';
import { JobInputError, jobInputSchema } from '../../src/client/job-input-schema.ts';
import { BATCH_ENDPOINTS } from '../../src/requests/index.ts';
import type { BatchEndpoint, JobInput } from '../../common/job-types.ts';

const options = { taskQueue: 'q' };

/** Never called: the compiler alone judges these lines. */
export function refusedByTheCompiler(client: Client): void {
  // @ts-expect-error a misspelt endpoint
  void startBatchJob(client, { inputUri: 'in.jsonl', endpoint: '/v1/chat/completion' }, options);
  // @ts-expect-error a misspelt option
  void startBatchJob(client, { inputUri: 'in.jsonl', endpoint: '/v1/chat/completions', maxRound: 3 }, options);
  // @ts-expect-error an option of the wrong type
  void startBatchJob(client, { inputUri: 'in.jsonl', endpoint: '/v1/chat/completions', maxRounds: '3' }, options);
  // @ts-expect-error the input is required
  void startBatchJob(client, { endpoint: '/v1/embeddings' }, options);
  // @ts-expect-error a misspelt nested option
  void startBatchJob(client, { inputUri: 'in.jsonl', endpoint: '/v1/responses', wait: { minPolMs: 10 } }, options);
}

/** The workflow's own input type (what a workflow starting the job as a child writes) is as strict. */
export const refusedJobInputs: JobInput[] = [
  // @ts-expect-error a misspelt endpoint in the workflow's input
  { inputUri: 'in.jsonl', endpoint: '/v1/chat/completion' },
  // @ts-expect-error an endpoint the Batch API does not run
  { inputUri: 'in.jsonl', endpoint: '/v1/images/generations' },
];

const accepted: StartJobInput[] = [
  { inputUri: 'in.jsonl', endpoint: '/v1/chat/completions' },
  {
    inputUri: 'file:///data/in.jsonl',
    endpoint: '/v1/embeddings',
    deadline: '2026-12-01T06:00:00Z',
    limits: { maxRequests: 1_000 },
    onInvalid: 'skip',
  },
];

describe("startBatchJob's typed input", () => {
  it('every endpoint the Batch API plans is accepted by the type', () => {
    expect(accepted.map((i) => i.endpoint)).toEqual(['/v1/chat/completions', '/v1/embeddings']);
  });

  it("the zod schema's endpoints are the workflow input's BatchEndpoint union", () => {
    const schemaEndpoints: readonly BatchEndpoint[] = jobInputSchema.shape.endpoint.options;
    expect([...schemaEndpoints].sort()).toEqual([...BATCH_ENDPOINTS].sort());
  });

  it.each([
    ['a misspelt endpoint', { inputUri: 'in.jsonl', endpoint: '/v1/chat/completion' }, 'endpoint'],
    ['a misspelt option', { inputUri: 'in.jsonl', endpoint: '/v1/chat/completions', maxRound: 3 }, 'maxRound'],
    ['a missing input', { endpoint: '/v1/embeddings' }, 'inputUri'],
  ])('the runtime check still refuses %s before anything reaches Temporal', async (_, input, field) => {
    // The client is never touched: validation comes first.
    const err = await startBatchJob({} as Client, input as unknown as StartJobInput, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobInputError);
    expect((err as Error).message).toContain(field);
  });
});
