// A row's error as OpenAI wrote it (in the output or error file) is copied into results.jsonl; a
// key-shaped string in it (a 401 quotes the key it refused, masked; a message may quote a field
// holding a key) is redacted there, like in mapped errors (src/openai/redact.ts).
import { describe, expect, it } from 'vitest';
import { classifyOutputLine } from '../../src/reconcile/classify-output-line.ts';

const KEY_SHAPE = /\bsk-[\w*.-]{3,}/;

describe('row errors in results carry no key-shaped string', () => {
  it('an HTTP error body quoting a masked key: the row keeps the code and the message, the key redacted', () => {
    const row = classifyOutputLine(
      {
        custom_id: 'r1',
        response: {
          status_code: 401,
          request_id: 'req_1',
          body: {
            error: {
              message:
                'Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.openai.com/account/api-keys.',
              type: 'invalid_request_error',
              param: null,
              code: 'invalid_api_key',
            },
          },
        },
        error: null,
      },
      '/v1/chat/completions',
    );
    expect(row.status).toBe('failed');
    expect(row.error?.code).toBe('invalid_api_key');
    expect(row.error?.message).toContain('Incorrect API key provided');
    expect(row.error?.message).not.toMatch(KEY_SHAPE);
  });

  it("a line-level error message quoting a whole key: redacted, the rest of OpenAI's text kept", () => {
    const row = classifyOutputLine(
      {
        custom_id: 'r2',
        response: null,
        error: { code: 'model_not_found', message: "The model 'sk-live-0123456789abcdef' does not exist." },
      },
      '/v1/chat/completions',
    );
    expect(row.error?.code).toBe('model_not_found');
    expect(row.error?.message).toContain('does not exist');
    expect(row.error?.message).not.toMatch(KEY_SHAPE);
  });
});
