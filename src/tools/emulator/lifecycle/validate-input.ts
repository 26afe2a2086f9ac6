import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EmulatorConfig } from '../config.ts';
import type { BatchErrorEntry, BatchPlan } from '../state/records.ts';
import { inputTexts, promptTokens } from '../synthesize/prompt-tokens.ts';
import { requestError } from '../synthesize/request-check.ts';
import { injectedRowError } from './row-fate.ts';

/** What validation learned about an input file, or why the batch fails. */
export type InputValidation =
  | { ok: true; total: number; model: string; promptTokens: number; failedRows: number[] }
  | { ok: false; errors: BatchErrorEntry[] };

const MAX_REPORTED_ERRORS = 100;

export interface ValidateInputOptions {
  path: string;
  bytes: number;
  endpoint: string;
  limits: EmulatorConfig['limits'];
  plan: BatchPlan;
  batchSeq: number;
}

/**
 * Streams the input file once, checking every line as OpenAI's validation does, and decides which
 * rows will fail when executed (missing body parameters, injected errors) so progress counts can
 * be computed without reading the file again.
 */
export async function validateInput(options: ValidateInputOptions): Promise<InputValidation> {
  const { endpoint, limits } = options;
  if (options.bytes > limits.maxBytes) {
    return fail(
      `The batch input file is larger than the maximum of ${limits.maxBytes.toLocaleString('en-US')} bytes.`,
      'file_too_large',
    );
  }
  const errors: BatchErrorEntry[] = [];
  const seen = new Set<string>();
  const failedRows: number[] = [];
  let model: string | null = null;
  let total = 0;
  let tokens = 0;
  let embeddingInputs = 0;
  let lineNumber = 0;
  const report = (code: string, message: string, param: string | null): void => {
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ code, message, param, line: lineNumber });
  };

  const lines = createInterface({ input: createReadStream(options.path), crlfDelay: Infinity });
  for await (const raw of lines) {
    lineNumber++;
    if (raw.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      report('invalid_json_line', 'This line is not parseable as valid JSON.', null);
      continue;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      report('invalid_json_line', 'This line is not a JSON object.', null);
      continue;
    }
    const line = parsed as Record<string, unknown>;
    const missing = (['custom_id', 'method', 'url', 'body'] as const).find(
      (k) => line[k] === undefined || line[k] === null,
    );
    if (missing) {
      report('missing_required_parameter', `Missing required parameter: '${missing}'.`, missing);
      continue;
    }
    if (typeof line.custom_id !== 'string' || line.custom_id === '') {
      report('invalid_custom_id', "Invalid 'custom_id': expected a non-empty string.", 'custom_id');
      continue;
    }
    if (line.method !== 'POST') {
      report(
        'invalid_method',
        `Invalid value for 'method': only POST is supported, got '${String(line.method)}'.`,
        'method',
      );
      continue;
    }
    if (line.url !== endpoint) {
      report('url_mismatch', 'The URL provided for this request does not prefix-match the batch endpoint.', 'url');
      continue;
    }
    if (typeof line.body !== 'object' || Array.isArray(line.body)) {
      report('invalid_body', "Invalid 'body': expected an object.", 'body');
      continue;
    }
    if (seen.has(line.custom_id)) {
      report('duplicate_custom_id', DUPLICATE_CUSTOM_ID_MESSAGE, 'custom_id');
      continue;
    }
    seen.add(line.custom_id);
    const body = line.body as Record<string, unknown>;
    const lineModel =
      typeof body.model === 'string' ? body.model : endpoint === '/v1/moderations' ? 'omni-moderation-latest' : null;
    if (lineModel !== null) {
      if (model === null) model = lineModel;
      else if (lineModel !== model) {
        report('model_mismatch', modelMismatchMessage(lineModel, model), 'body.model');
        continue;
      }
    }
    if (endpoint === '/v1/embeddings') embeddingInputs += inputTexts(body.input).length;
    tokens += promptTokens(endpoint, body);
    if (requestError(endpoint, body) || injectedRowError(options.plan, options.batchSeq, line.custom_id))
      failedRows.push(total);
    total++;
  }

  if (errors.length > 0) return { ok: false, errors };
  if (total === 0) return fail('The batch input file is empty.', 'empty_file');
  if (total > limits.maxRequests) {
    return fail(tooManyRequestsMessage(total, limits.maxRequests), 'too_many_tasks');
  }
  if (embeddingInputs > limits.maxEmbeddingInputs) {
    return fail(tooManyEmbeddingInputsMessage(embeddingInputs, limits.maxEmbeddingInputs), 'too_many_tasks');
  }
  return { ok: true, total, model: model ?? 'unknown', promptTokens: tokens, failedRows };
}

const DUPLICATE_CUSTOM_ID_MESSAGE =
  'The custom_id for this request is a duplicate of another request. ' +
  'The custom_id parameter must be unique for each request in a batch.';

function modelMismatchMessage(lineModel: string, model: string): string {
  return (
    `The provided model '${lineModel}' does not match the model '${model}' of the other requests. ` +
    'Each input file can only include requests to a single model.'
  );
}

function tooManyRequestsMessage(total: number, maxRequests: number): string {
  return (
    `The batch input file contains ${total.toLocaleString('en-US')} requests; ` +
    `the maximum is ${maxRequests.toLocaleString('en-US')}.`
  );
}

function tooManyEmbeddingInputsMessage(embeddingInputs: number, maxEmbeddingInputs: number): string {
  return (
    `The batch contains ${embeddingInputs.toLocaleString('en-US')} embedding inputs across all requests; ` +
    `the maximum is ${maxEmbeddingInputs.toLocaleString('en-US')}.`
  );
}

function fail(message: string, code: string): InputValidation {
  return { ok: false, errors: [{ code, message, param: null, line: null }] };
}
