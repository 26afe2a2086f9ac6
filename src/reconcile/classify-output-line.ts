import { redactKeys } from '../openai/redact.ts';
import type { BatchEndpoint } from '../requests/index.ts';
import { checkJsonSchema } from './json-schema-check.ts';
import { answerText, usageFromBody } from './response-content.ts';
import type { OutputLine } from './parse-output-line.ts';
import type { RowRecord } from './row-record.ts';

type Classified = Pick<RowRecord, 'status' | 'request_id' | 'error' | 'usage' | 'response'>;

/**
 * Turns one line of OpenAI's output or error file into a row's status. HTTP errors may sit in
 * either file (with `error: null` and a 4xx/5xx `response`); `batch_expired` and `batch_cancelled`
 * rows mark work that never ran.
 */
export function classifyOutputLine(line: OutputLine, endpoint: BatchEndpoint, jsonSchema?: object): Classified {
  const response = line.response ?? null;
  const requestId = response?.request_id ?? null;
  if (line.error && (line.error.code || line.error.message)) {
    const code = line.error.code ?? 'unknown_error';
    const status = code === 'batch_expired' ? 'expired' : code === 'batch_cancelled' ? 'cancelled' : 'failed';
    return {
      status,
      request_id: requestId,
      error: { code, message: redactKeys(line.error.message ?? '') },
      usage: null,
      response: null,
    };
  }
  const httpStatus = response?.status_code ?? 0;
  const body: unknown = response?.body ?? null;
  const usage = usageFromBody(body);
  if (httpStatus < 200 || httpStatus >= 300) {
    const apiError = (
      body as { error?: { code?: string | null; type?: string; message?: string; param?: string | null } } | null
    )?.error;
    const code = apiError?.code ?? apiError?.type ?? (httpStatus === 0 ? 'no_response' : `http_${httpStatus}`);
    return {
      status: 'failed',
      request_id: requestId,
      error: {
        code,
        message: apiError?.message === undefined ? `HTTP ${httpStatus}` : redactKeys(apiError.message),
        http_status: httpStatus,
        ...(apiError?.param ? { param: apiError.param } : {}),
      },
      usage,
      response: null,
    };
  }
  if (jsonSchema) {
    const problem = schemaProblem(body, endpoint, jsonSchema);
    if (problem)
      return {
        status: 'invalid_output',
        request_id: requestId,
        error: { code: problem.code, message: problem.message },
        usage,
        response: body,
      };
  }
  return { status: 'succeeded', request_id: requestId, error: null, usage, response: body };
}

function schemaProblem(
  body: unknown,
  endpoint: BatchEndpoint,
  schema: object,
): { code: string; message: string } | null {
  const answer = answerText(body, endpoint);
  if (answer.refusal !== undefined) return { code: 'refusal', message: `the model refused: ${answer.refusal}` };
  if (answer.text === undefined)
    return { code: 'schema_mismatch', message: 'the response has no text content to check against the schema' };
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch {
    return { code: 'invalid_json_output', message: 'the content is not valid JSON' };
  }
  const problem = checkJsonSchema(value, schema);
  return problem ? { code: 'schema_mismatch', message: problem } : null;
}
