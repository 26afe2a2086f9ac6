import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ApplicationFailure } from '@temporalio/common';
import { JobInputError, parseJobInput } from '../../client/job-input-schema.ts';
import { formatInvalidInput, type InvalidInputReport } from '../../plan/index.ts';
import { FAILURE_TYPES } from '../../../common/failures.ts';
import type { JobInput } from '../../../common/job-types.ts';
import { UserError } from './user-error.ts';

/** The flags that map one to one to the job input, shared by `run`, `submit` and `schedule create`. */
export const JOB_FLAGS = {
  endpoint: { type: 'string' },
  name: { type: 'string' },
  'job-id': { type: 'string' },
  'on-invalid': { type: 'string' },
  'max-active-batches': { type: 'string' },
  'max-rounds': { type: 'string' },
  'max-requests-per-batch': { type: 'string' },
  'max-bytes-per-batch': { type: 'string' },
  'max-tokens-per-batch': { type: 'string' },
  'max-embedding-inputs-per-batch': { type: 'string' },
  prices: { type: 'string' },
  'max-cost-usd': { type: 'string' },
  deadline: { type: 'string' },
  'json-schema': { type: 'string' },
  'retry-invalid-output': { type: 'boolean' },
  'poll-min-seconds': { type: 'string' },
  'poll-max-seconds': { type: 'string' },
  'validating-poll-seconds': { type: 'string' },
  'progress-refresh-seconds': { type: 'string' },
  'token-limit-backoff-seconds': { type: 'string' },
  'heartbeat-timeout-seconds': { type: 'string' },
  'max-token-limit-retries': { type: 'string' },
  'recovery-wait-seconds': { type: 'string' },
  webhooks: { type: 'boolean' },
  'continue-as-new-after-events': { type: 'string' },
  'openai-file-ttl-seconds': { type: 'string' },
} as const;

/** Help text for {@link JOB_FLAGS}. */
export const JOB_FLAGS_USAGE = `Job options (each maps to one field of the job input):
  --endpoint <url>               /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/completions
                                 or /v1/moderations (default: the url of the input's first line)
  --name <text>                  a name shown in the UI and the OpenAIBatchJobName search attribute
  --job-id <id>                  the job's id and workflow id (default: generated)
  --on-invalid fail|skip         fail the job on invalid lines before any upload, or skip them into
                                 rejected.jsonl (default: fail)
  --max-active-batches <n>       batches in flight at once (default: 10)
  --max-rounds <n>               rounds including the first; retryable rows go to the next (default: 3)
  --max-requests-per-batch <n>   chunk limit (default: 50000; Azure allows 100000)
  --max-bytes-per-batch <n>      chunk limit in bytes (default: OpenAI's 200 MB)
  --max-tokens-per-batch <n>     estimated prompt tokens per batch: your tier's enqueued-token limit
  --max-embedding-inputs-per-batch <n>
                                 chunk limit on embedding inputs (default: 50000)
  --prices <file>                JSON {"<model>": {"input": $, "cachedInput": $, "output": $}} per 1M
                                 tokens at synchronous prices (default: the built-in table)
  --max-cost-usd <x>             do not submit chunks that would exceed this budget
  --deadline <iso-date>          cancel what still runs at this time and finalize
  --json-schema <file>           JSON schema every response must satisfy, else invalid_output
                                 (default: taken from the requests' response_format when strict)
  --retry-invalid-output         resubmit invalid_output rows in the next round
  --poll-min-seconds <s>         shortest delay between polls of a batch (default: 60)
  --poll-max-seconds <s>         longest delay between polls of a batch (default: 3600)
  --validating-poll-seconds <s>  first delay while a batch validates (default: 2)
  --progress-refresh-seconds <s> how often a chunk reports its counts to the job (default: 7200)
  --token-limit-backoff-seconds <s>
                                 wait after token_limit_exceeded before resubmitting (default: 600)
  --heartbeat-timeout-seconds <s>
                                 how soon a dead worker's activity is retried (default: 60)
  --max-token-limit-retries <n>  resubmissions of a chunk after token_limit_exceeded; then its rows
                                 are failed (retryable) for the next round (default: 36)
  --recovery-wait-seconds <s>    how long the job waits for the cancelled batch of a chunk that
                                 ended without reporting (terminated) before recording its rows
                                 with what is known (default: 3600)
  --webhooks                     a webhook receiver wakes the chunks (openai-batch webhooks):
                                 poll less, as a fallback only (see README, Webhooks)
  --continue-as-new-after-events <n>
                                 continue-as-new at this history length too (default: when
                                 Temporal suggests it)
  --openai-file-ttl-seconds <s>  OpenAI deletes the job's uploaded and output files after this
                                 (3600 to 2592000, and at least --poll-max-seconds + 1800;
                                 default: 604800, 7 days)
`;

type JobFlagValues = {
  [K in keyof typeof JOB_FLAGS]?: (typeof JOB_FLAGS)[K]['type'] extends 'boolean' ? boolean : string;
};

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || value.trim() === '') throw new UserError(`--${flag} must be a number, got "${value}"`);
  return n;
}

/** What the first non-blank line of a local input file holds. */
export type FirstLine =
  | { readonly kind: 'request'; readonly line: number; readonly request: Record<string, unknown> }
  | { readonly kind: 'not_json'; readonly line: number; readonly error: string }
  | { readonly kind: 'not_object'; readonly line: number }
  | { readonly kind: 'empty' }
  | { readonly kind: 'unreadable'; readonly error: string };

/** Reads the first non-blank line of a JSONL file (at most its first 4 MB) and parses it. */
export async function readFirstLine(path: string): Promise<FirstLine> {
  const lines = createInterface({ input: createReadStream(path, { end: 4 * 1024 * 1024 }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (!text.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch (err) {
        return { kind: 'not_json', line, error: err instanceof Error ? err.message : String(err) };
      }
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? { kind: 'request', line, request: parsed as Record<string, unknown> }
        : { kind: 'not_object', line };
    }
    return { kind: 'empty' };
  } catch (err) {
    return { kind: 'unreadable', error: err instanceof Error ? err.message : String(err) };
  } finally {
    lines.close();
  }
}

/** The first request line of a JSONL file, parsed; undefined when it is not a JSON object. */
export async function firstRequest(path: string): Promise<Record<string, unknown> | undefined> {
  const first = await readFirstLine(path);
  return first.kind === 'request' ? first.request : undefined;
}

const ENDPOINT_HINT = 'or pass --endpoint /v1/chat/completions (or the endpoint your lines use)';

/**
 * The endpoint of the job: --endpoint, else the `url` of the input's first line. Refuses an empty
 * input, and one whose first line cannot say, with what is wrong on which line.
 */
function endpointOf(flag: string | undefined, path: string | undefined, first: FirstLine | undefined): string {
  if (first?.kind === 'empty')
    throw new UserError(
      `${path} is empty: it has no request lines`,
      'write one JSON request per line ({"custom_id": ..., "method": "POST", "url": ..., "body": ...})',
    );
  if (flag) return flag;
  if (first?.kind === 'request' && typeof first.request['url'] === 'string') return first.request['url'];
  if (first?.kind === 'not_json')
    throw new UserError(
      `${path} line ${first.line} is not JSON (${first.error})`,
      'make each line one complete JSON request object; the job takes its endpoint from the first line\'s "url"',
    );
  if (first?.kind === 'not_object')
    throw new UserError(
      `${path} line ${first.line} is not a JSON object`,
      'make each line one JSON request object ({"custom_id": ..., "method": "POST", "url": ..., "body": ...})',
    );
  if (first?.kind === 'request')
    throw new UserError(
      `${path} line ${first.line} has no "url", so the job's endpoint is unknown`,
      `add "url": "/v1/chat/completions" (or your endpoint) to every line, ${ENDPOINT_HINT}`,
    );
  if (first?.kind === 'unreadable')
    throw new UserError(
      `cannot read ${path} to take the endpoint from its first line (${first.error})`,
      `pass --endpoint`,
    );
  throw new UserError(
    'the job needs an endpoint',
    'pass --endpoint /v1/chat/completions (or the endpoint your lines use)',
  );
}

/** The strict JSON schema a request asks for (chat `response_format` or responses `text.format`). */
export function requestedJsonSchema(request: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const field = (value: unknown, key: string): unknown =>
    value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  const body = field(request, 'body');
  const chat = field(field(body, 'response_format'), 'json_schema');
  const responses = field(body, 'text') ? field(field(body, 'text'), 'format') : undefined;
  const format = chat ?? (field(responses, 'type') === 'json_schema' ? responses : undefined);
  const schema = field(format, 'schema');
  return field(format, 'strict') === true && schema && typeof schema === 'object'
    ? (schema as Record<string, unknown>)
    : undefined;
}

/** Turns the flags into a validated job input (field errors become one-line user errors). */
export async function jobInputFromFlags(
  values: JobFlagValues,
  inputUri: string,
  inputPath: string | undefined,
): Promise<JobInput> {
  const firstLine = inputPath ? await readFirstLine(inputPath) : undefined;
  const endpoint = endpointOf(values.endpoint, inputPath, firstLine);
  let jsonSchema = requestedJsonSchema(firstLine?.kind === 'request' ? firstLine.request : undefined);
  if (values['json-schema']) {
    try {
      jsonSchema = JSON.parse(await readFile(values['json-schema'], 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new UserError(
        `--json-schema ${values['json-schema']}: ${err instanceof Error ? err.message : String(err)}`,
        'pass a file that holds one JSON schema object',
      );
    }
  }
  let prices: unknown;
  if (values.prices) {
    try {
      prices = JSON.parse(await readFile(values.prices, 'utf8')) as unknown;
    } catch (err) {
      throw new UserError(
        `--prices ${values.prices}: ${err instanceof Error ? err.message : String(err)}`,
        'pass a JSON file like {"gpt-4o-mini": {"input": 0.15, "cachedInput": 0.075, "output": 0.6}}',
      );
    }
  }
  const limits = {
    maxRequests: number('max-requests-per-batch', values['max-requests-per-batch']),
    maxBytes: number('max-bytes-per-batch', values['max-bytes-per-batch']),
    maxEmbeddingInputs: number('max-embedding-inputs-per-batch', values['max-embedding-inputs-per-batch']),
    maxTokensPerBatch: number('max-tokens-per-batch', values['max-tokens-per-batch']),
  };
  const msOf = (flag: keyof typeof WAIT_FLAGS): number | undefined => {
    const seconds = number(flag, values[flag]);
    return seconds === undefined ? undefined : Math.round(seconds * 1000);
  };
  const wait = {
    ...Object.fromEntries(
      Object.entries(WAIT_FLAGS).map(([flag, field]) => [field, msOf(flag as keyof typeof WAIT_FLAGS)]),
    ),
    maxTokenLimitRetries: number('max-token-limit-retries', values['max-token-limit-retries']),
    webhooks: values.webhooks,
  };
  const raw = {
    inputUri,
    endpoint,
    jobId: values['job-id'],
    name: values.name,
    onInvalid: values['on-invalid'],
    maxActiveBatches: number('max-active-batches', values['max-active-batches']),
    maxRounds: number('max-rounds', values['max-rounds']),
    limits: Object.values(limits).some((v) => v !== undefined) ? limits : undefined,
    prices,
    maxCostUsd: number('max-cost-usd', values['max-cost-usd']),
    deadline: values.deadline,
    jsonSchema,
    retryInvalidOutput: values['retry-invalid-output'],
    continueAsNewAfterEvents: number('continue-as-new-after-events', values['continue-as-new-after-events']),
    openaiFileTtlSeconds: number('openai-file-ttl-seconds', values['openai-file-ttl-seconds']),
    wait: Object.values(wait).some((v) => v !== undefined) ? wait : undefined,
  };
  try {
    return parseJobInput(JSON.parse(JSON.stringify(raw)) as unknown);
  } catch (err) {
    if (err instanceof JobInputError) {
      const flagOf = (path: string): string =>
        JOB_FIELD_FLAGS[path] ?? (path.startsWith('prices.') ? '--prices' : path);
      throw new UserError(
        err.issues.map((i) => `${flagOf(i.path)}: ${i.message}`).join('; '),
        'run with --help for the accepted values',
      );
    }
    throw err;
  }
}

/** The flags of the wait options, given in seconds, by their field in `wait` (milliseconds). */
const WAIT_FLAGS = {
  'poll-min-seconds': 'minPollMs',
  'poll-max-seconds': 'maxPollMs',
  'validating-poll-seconds': 'validatingPollMs',
  'progress-refresh-seconds': 'progressRefreshMs',
  'token-limit-backoff-seconds': 'tokenLimitBackoffMs',
  'heartbeat-timeout-seconds': 'heartbeatTimeoutMs',
  'recovery-wait-seconds': 'recoveryWaitMs',
} as const;

/** The flag of each job input field (the input file itself is the positional argument). */
export const JOB_FIELD_FLAGS: Record<string, string> = {
  endpoint: '--endpoint',
  jobId: '--job-id',
  name: '--name',
  onInvalid: '--on-invalid',
  maxActiveBatches: '--max-active-batches',
  maxRounds: '--max-rounds',
  'limits.maxRequests': '--max-requests-per-batch',
  'limits.maxBytes': '--max-bytes-per-batch',
  'limits.maxTokensPerBatch': '--max-tokens-per-batch',
  'limits.maxEmbeddingInputs': '--max-embedding-inputs-per-batch',
  prices: '--prices',
  maxCostUsd: '--max-cost-usd',
  deadline: '--deadline',
  jsonSchema: '--json-schema',
  retryInvalidOutput: '--retry-invalid-output',
  continueAsNewAfterEvents: '--continue-as-new-after-events',
  openaiFileTtlSeconds: '--openai-file-ttl-seconds',
  ...Object.fromEntries(Object.entries(WAIT_FLAGS).map(([flag, field]) => [`wait.${field}`, `--${flag}`])),
  'wait.maxTokenLimitRetries': '--max-token-limit-retries',
  'wait.webhooks': '--webhooks',
};

/**
 * A failed job's reason in the CLI's terms: the innermost failure's own words, and for refused input
 * the report rewritten to name the file the user passed (not the job's copy of it under the storage
 * root) and the `--on-invalid skip` flag.
 */
export function jobFailureMessage(err: Error, inputPath?: string): string {
  let current: Error = err;
  for (;;) {
    if (current instanceof ApplicationFailure && current.type === FAILURE_TYPES.invalidInput) {
      const report = current.details?.[0] as InvalidInputReport | undefined;
      if (report && Array.isArray(report.firstIssues))
        return formatInvalidInput({ ...report, ...(inputPath ? { inputUri: inputPath } : {}) }, '--on-invalid skip');
    }
    if (!(current.cause instanceof Error)) return current.message;
    current = current.cause;
  }
}
