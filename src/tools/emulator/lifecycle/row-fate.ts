import { ROW_ERROR_STATUS, type RowErrorCode } from '../config.ts';
import { hashUnit } from '../seeded-random.ts';
import type { BatchPlan } from '../state/records.ts';

/**
 * Whether an executed row gets an injected error, and which. Drawn from the seed, the batch's
 * creation number and the `custom_id`, so a run is reproducible, and a row retried in a later
 * batch draws again (a retry round can succeed).
 */
export function injectedRowError(plan: BatchPlan, batchSeq: number, customId: string): RowErrorCode | null {
  const draw = hashUnit(plan.seed, 'row', batchSeq, customId);
  let threshold = 0;
  for (const code of Object.keys(ROW_ERROR_STATUS) as RowErrorCode[]) {
    threshold += plan.rowErrors[code] ?? 0;
    if (draw < threshold) return code;
  }
  return null;
}

const MESSAGES: Record<RowErrorCode, { type: string; message: string }> = {
  rate_limit_exceeded: {
    type: 'requests',
    message: 'Rate limit reached for requests. Please try again later.',
  },
  server_error: {
    type: 'server_error',
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  invalid_request_error: {
    type: 'invalid_request_error',
    message: 'Invalid request: the request body could not be processed.',
  },
  context_length_exceeded: {
    type: 'invalid_request_error',
    message: "This model's maximum context length was exceeded. Please reduce the length of the messages.",
  },
  timeout: {
    type: 'server_error',
    message: 'The request timed out while being processed.',
  },
};

/** The response OpenAI writes to the error file for a row that failed with `code`. */
export function injectedErrorResponse(code: RowErrorCode): {
  status: number;
  error: { message: string; type: string; param: string | null; code: string };
} {
  const { type, message } = MESSAGES[code];
  return {
    status: ROW_ERROR_STATUS[code],
    error: { message, type, param: code === 'context_length_exceeded' ? 'messages' : null, code },
  };
}
