import { z } from 'zod';
import { optionIssues } from '../../common/job-options.ts';
import type { JobInput } from '../../common/job-types.ts';

const ENDPOINTS = [
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
] as const;
const positiveInt = z.number().int().positive();
const ms = z.number().int().nonnegative();

/**
 * A job's id (`jobId`, or the workflow id when there is none): it names the job's storage folder and
 * starts every idempotency key, which OpenAI keeps only up to 512 characters.
 */
export const jobIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits, ".", "_", ":" or "-" only');

/** The job input as zod checks it on the client, before anything reaches Temporal. */
export const jobInputSchema = z
  .strictObject({
    jobId: jobIdSchema.optional(),
    name: z.string().min(1).max(200).optional(),
    inputUri: z.string().min(1, 'the input JSONL is required'),
    endpoint: z.enum(ENDPOINTS, { error: `must be one of ${ENDPOINTS.join(', ')}` }),
    onInvalid: z.enum(['fail', 'skip']).optional(),
    maxActiveBatches: positiveInt.max(500).optional(),
    maxRounds: positiveInt.max(20).optional(),
    limits: z
      .strictObject({
        maxRequests: positiveInt.max(100_000).optional(),
        maxBytes: positiveInt.optional(),
        maxEmbeddingInputs: positiveInt.optional(),
        maxTokensPerBatch: positiveInt.optional(),
      })
      .optional(),
    prices: z
      .record(
        z.string(),
        z.strictObject({
          input: z.number().nonnegative(),
          cachedInput: z.number().nonnegative(),
          output: z.number().nonnegative(),
        }),
      )
      .optional(),
    maxCostUsd: z.number().positive().optional(),
    deadline: z.union([z.number().int().positive(), z.iso.datetime({ offset: true })]).optional(),
    jsonSchema: z.record(z.string(), z.unknown()).optional(),
    retryInvalidOutput: z.boolean().optional(),
    continueAsNewAfterEvents: positiveInt.min(50).optional(),
    openaiFileTtlSeconds: positiveInt
      .min(3_600, 'OpenAI accepts 3600 to 2592000 seconds')
      .max(2_592_000, 'OpenAI accepts 3600 to 2592000 seconds')
      .optional(),
    wait: z
      .strictObject({
        minPollMs: ms.min(10).optional(),
        maxPollMs: ms.min(10).optional(),
        validatingPollMs: ms.min(10).optional(),
        progressRefreshMs: ms.min(100).optional(),
        tokenLimitBackoffMs: ms.optional(),
        heartbeatTimeoutMs: ms.min(1_000).optional(),
        maxTokenLimitRetries: z.number().int().min(0).max(10_000).optional(),
        webhooks: z.boolean().optional(),
        recoveryWaitMs: ms.min(1_000).optional(),
      })
      .optional(),
  })
  .superRefine((input, ctx) => {
    // Options that are each valid but cannot work together (see optionIssues).
    for (const issue of optionIssues(input as JobInput))
      ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  });

/** One problem with a job input, by field path (`limits.maxRequests`). */
export interface JobInputIssue {
  readonly path: string;
  readonly message: string;
}

/** Thrown by {@link parseJobInput}: the message lists every bad field. */
export class JobInputError extends Error {
  readonly issues: readonly JobInputIssue[];
  constructor(issues: readonly JobInputIssue[]) {
    super(`invalid job input:\n${issues.map((i) => `  - ${i.path || '(input)'}: ${i.message}`).join('\n')}`);
    this.name = 'JobInputError';
    this.issues = issues;
  }
}

/**
 * Validates a job input; throws {@link JobInputError} naming each bad field. Secrets are refused by shape
 * (strict objects).
 */
export function parseJobInput(input: unknown): JobInput {
  const parsed = jobInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new JobInputError(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return parsed.data as JobInput;
}
