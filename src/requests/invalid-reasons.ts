/** Why a request line cannot be planned. Each has one sentence a user can act on. */
export type InvalidReason =
  | 'invalid_json'
  | 'not_an_object'
  | 'invalid_custom_id'
  | 'duplicate_custom_id'
  | 'invalid_method'
  | 'url_mismatch'
  | 'unknown_field'
  | 'invalid_body'
  | 'model_mismatch'
  | 'invalid_utf8'
  | 'line_too_long'
  | 'request_too_large'
  | 'too_many_inputs'
  | 'too_many_tokens';

export const FIX_FOR_REASON: Record<InvalidReason, string> = {
  invalid_json: 'make each line one complete JSON object (no trailing commas, no line breaks inside a request)',
  not_an_object: 'each line must be a JSON object {"custom_id", "method", "url", "body"}',
  invalid_custom_id: 'give every line a non-empty string "custom_id"',
  duplicate_custom_id: 'make every "custom_id" unique across the whole input; results are matched by it',
  invalid_method: 'set "method" to "POST"',
  url_mismatch: 'set "url" to the job\'s endpoint on every line (one endpoint per job)',
  unknown_field:
    'keep only "custom_id", "method", "url" and "body" at the top level; request parameters go inside "body"',
  invalid_body: 'fix the named field of "body" so that the same request would be accepted by the synchronous endpoint',
  model_mismatch:
    'use one "model" on every line (OpenAI rejects files that mix models); split the input into one job per model',
  invalid_utf8: 'save the file as UTF-8',
  line_too_long: 'shorten the request or raise maxLineBytes; a line this long cannot fit a batch',
  request_too_large: 'this single request is larger than the per-batch byte limit; shorten it',
  too_many_inputs: 'this single request carries more embedding inputs than one batch allows; split it',
  too_many_tokens:
    'this single request needs more tokens than the per-batch token budget; shorten it or raise maxTokensPerBatch',
};

/** One problem with one line. `field` is a path such as `body.messages[0].role`. */
export interface RequestIssue {
  readonly reason: InvalidReason;
  readonly field?: string;
  readonly message: string;
}
