import type { SeededRandom } from '../seeded-random.ts';

/** Token usage of one executed row, summed into the batch's `usage`. */
export interface RowUsage {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

/** The outcome of executing one request line: the endpoint's response body, or an HTTP error. */
export type RowResult =
  | { ok: true; body: Record<string, unknown>; usage: RowUsage }
  | { ok: false; status: number; error: { message: string; type: string; param: string | null; code: string | null } };

/** Everything a synthesizer may use; all of it is derived from the request, so answers repeat. */
export interface SynthesisContext {
  /** A hex digest of model and body, used for response ids. */
  digest: string;
  /** Unix seconds for `created`. */
  createdSec: number;
  random: SeededRandom;
}

export function missingParameter(param: string): RowResult {
  return {
    ok: false,
    status: 400,
    error: {
      message: `Missing required parameter: '${param}'.`,
      type: 'invalid_request_error',
      param,
      code: 'missing_required_parameter',
    },
  };
}

/** Reasoning models spend hidden tokens; the emulator reports some so cost accounting sees them. */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model);
}
