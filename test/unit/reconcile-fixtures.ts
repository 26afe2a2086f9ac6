/** OpenAI output-file lines as the real API writes them (reference/openai-batch-api.md §4). */
export function okLine(
  id: string,
  content = '{"label":"positive"}',
  usage = { prompt_tokens: 10, completion_tokens: 5 },
): string {
  return JSON.stringify({
    id: `batch_req_${id}`,
    custom_id: id,
    response: {
      status_code: 200,
      request_id: `req_${id}`,
      body: {
        id: `chatcmpl-${id}`,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content } }],
        usage,
      },
    },
    error: null,
  });
}

export function httpErrorLine(id: string, status: number, code: string | null, type = 'invalid_request_error'): string {
  return JSON.stringify({
    id: `batch_req_${id}`,
    custom_id: id,
    response: {
      status_code: status,
      request_id: `req_${id}`,
      body: { error: { message: `error ${status}`, type, param: null, code } },
    },
    error: null,
  });
}

export function batchErrorLine(
  id: string,
  code: string,
  message = 'This request could not be executed before the completion window expired.',
): string {
  return JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: null, error: { code, message } });
}
