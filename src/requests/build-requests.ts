import type { z } from 'zod';
import type { BatchEndpoint } from './endpoints.ts';
import { strictJsonSchema } from './strict-json-schema.ts';
import { validateRequestLine } from './validate-request-line.ts';

/** How to turn one record into one request (the seed articles' `build_batch_file`, typed). */
export interface RequestTemplate<R> {
  /** @default '/v1/chat/completions' */
  readonly endpoint?: BatchEndpoint;
  readonly model: string;
  /** The system prompt (chat) or `instructions` (responses). */
  readonly system?: string;
  /** The user prompt: a function of the record, or a string with `{{field}}` placeholders. */
  readonly user: string | ((record: R) => string);
  /** The row's custom_id. @default String(record.id) */
  readonly customId?: (record: R, index: number) => string;
  /** Further body parameters (temperature, max_tokens, ...), copied as they are. */
  readonly params?: Record<string, unknown>;
  /** When set, the request asks for strict structured output matching this schema. */
  readonly schema?: z.ZodType;
  /** @default 'result' */
  readonly schemaName?: string;
}

function fillTemplate(template: string, record: unknown): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, key: string) => {
    let value: unknown = record;
    for (const part of key.split('.'))
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    if (value === undefined || value === null)
      throw new TypeError(`template field "{{${key}}}" is missing from the record`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function defaultCustomId(record: unknown): string {
  const id = record && typeof record === 'object' ? (record as Record<string, unknown>)['id'] : undefined;
  if (typeof id !== 'string' && typeof id !== 'number')
    throw new TypeError('the record has no "id"; pass template.customId');
  return String(id);
}

/**
 * Streams request lines (each ending in `\n`) from records. Every line is validated as the planner
 * will validate it, so a mistake in the template fails on the first record, not at upload.
 */
export async function* buildRequests<R>(
  records: AsyncIterable<R> | Iterable<R>,
  template: RequestTemplate<R>,
): AsyncGenerator<string> {
  const endpoint = template.endpoint ?? '/v1/chat/completions';
  const format = template.schema ? strictJsonSchema(template.schema, template.schemaName) : undefined;
  let index = 0;
  for await (const record of records) {
    const user = typeof template.user === 'function' ? template.user(record) : fillTemplate(template.user, record);
    const body: Record<string, unknown> = { model: template.model };
    if (endpoint === '/v1/responses') {
      if (template.system !== undefined) body['instructions'] = template.system;
      body['input'] = user;
      if (format) body['text'] = { format: { type: 'json_schema', ...format } };
    } else if (endpoint === '/v1/chat/completions') {
      body['messages'] = [
        ...(template.system !== undefined ? [{ role: 'system', content: template.system }] : []),
        { role: 'user', content: user },
      ];
      if (format) body['response_format'] = { type: 'json_schema', json_schema: format };
    } else if (endpoint === '/v1/completions') {
      body['prompt'] = user;
    } else {
      body['input'] = user;
    }
    Object.assign(body, template.params);
    const customId = template.customId ? template.customId(record, index) : defaultCustomId(record);
    const line = JSON.stringify({ custom_id: customId, method: 'POST', url: endpoint, body });
    const checked = validateRequestLine(line, endpoint);
    if (!checked.ok)
      throw new TypeError(
        `record ${index} builds an invalid request: ${checked.issues.map((i) => i.message).join('; ')}`,
      );
    index++;
    yield line + '\n';
  }
}
