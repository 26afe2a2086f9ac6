import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildRequests, validateRequestLine, type BatchEndpoint } from '../../src/requests/index.ts';

const line = (
  over: Record<string, unknown>,
  body: Record<string, unknown> = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
) => JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body, ...over });

function issues(text: string, endpoint: BatchEndpoint = '/v1/chat/completions') {
  const r = validateRequestLine(text, endpoint);
  return r.ok ? [] : r.issues.map((i) => `${i.reason}: ${i.message}`);
}

describe('request line validation', () => {
  it('accepts a valid line for each endpoint and reports its model', () => {
    const bodies: Record<BatchEndpoint, Record<string, unknown>> = {
      '/v1/chat/completions': {
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: [{ type: 'text', text: 'x' }] },
        ],
      },
      '/v1/responses': { model: 'gpt-5', input: 'x' },
      '/v1/embeddings': { model: 'text-embedding-3-small', input: ['a', 'b'] },
      '/v1/completions': { model: 'gpt-3.5-turbo-instruct', prompt: 'x' },
      '/v1/moderations': { input: 'x' },
    };
    for (const [endpoint, body] of Object.entries(bodies) as [BatchEndpoint, Record<string, unknown>][]) {
      const r = validateRequestLine(JSON.stringify({ custom_id: 'a', method: 'POST', url: endpoint, body }), endpoint);
      expect(r.ok, endpoint).toBe(true);
      if (r.ok) expect(r.request.model).toBe((body['model'] as string | undefined) ?? 'omni-moderation-latest');
    }
  });

  it('names JSON syntax errors and non-object lines', () => {
    expect(issues('{"custom_id": "a",}')[0]).toMatch(/^invalid_json: not valid JSON/);
    expect(issues('[1,2]')).toEqual(['not_an_object: the line is an array, not a JSON object']);
  });

  it('checks custom_id presence, type and length', () => {
    expect(issues(line({ custom_id: undefined }))).toEqual(['invalid_custom_id: custom_id must be a string']);
    expect(issues(line({ custom_id: 7 }))).toEqual(['invalid_custom_id: custom_id must be a string']);
    expect(issues(line({ custom_id: '' }))).toEqual(['invalid_custom_id: custom_id must not be empty']);
    expect(issues(line({ custom_id: 'x'.repeat(513) }))).toEqual([
      'invalid_custom_id: custom_id must be at most 512 characters',
    ]);
  });

  it('requires POST, the job endpoint as url, and no unknown top-level fields', () => {
    expect(issues(line({ method: 'GET' }))).toEqual(['invalid_method: method must be "POST"']);
    expect(issues(line({ url: '/v1/embeddings' }))).toEqual([
      'url_mismatch: url is "/v1/embeddings" but the job\'s endpoint is "/v1/chat/completions"',
    ]);
    expect(issues(line({ model: 'gpt-4o' }))).toEqual(['unknown_field: unexpected field "model"']);
  });

  it('checks the body shape per endpoint and names the field', () => {
    expect(issues(line({}, { model: 'gpt-4o-mini' }))).toEqual([
      'invalid_body: body.messages must be an array of messages',
    ]);
    expect(issues(line({}, { model: 'gpt-4o-mini', messages: [] }))).toEqual([
      'invalid_body: body.messages must contain at least one message',
    ]);
    expect(issues(line({}, { model: 'gpt-4o-mini', messages: [{ role: 'bot', content: 'x' }] }))).toEqual([
      'invalid_body: body.messages[0].role must be one of system, developer, user, assistant, tool, function',
    ]);
    expect(
      issues(line({}, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }))[0],
    ).toMatch(/body.stream streaming is not supported/);
    expect(issues(line({}, { messages: [{ role: 'user', content: 'x' }] }))).toEqual([
      'invalid_body: body.model must be a model name (string)',
    ]);
    expect(issues(line({ body: 'text' }))).toEqual([
      'invalid_body: body must be a JSON object with the request parameters',
    ]);
    const emb = (body: Record<string, unknown>) =>
      JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/embeddings', body });
    expect(issues(emb({ model: 'text-embedding-3-small', input: [] }), '/v1/embeddings')[0]).toMatch(
      /^invalid_body: body.input/,
    );
    expect(issues(emb({ model: 'text-embedding-3-small', input: Array(2049).fill('a') }), '/v1/embeddings')[0]).toMatch(
      /at most 2048 inputs/,
    );
    const resp = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/responses', body: { model: 'gpt-5' } });
    expect(issues(resp, '/v1/responses')).toEqual([
      'invalid_body: body.input must be a string or an array of input items',
    ]);
  });
});

describe('request builder', () => {
  const reviews = [
    { id: 'review-1', text: 'Battery lasted 2 hours less than advertised.' },
    { id: 'review-2', text: 'Gorgeous screen.' },
  ];
  async function* records() {
    for (const r of reviews) yield await Promise.resolve(r);
  }

  it('streams valid chat lines with a strict json_schema response_format from a zod schema', async () => {
    const out: string[] = [];
    const schema = z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']), reason: z.string().nullable() });
    for await (const l of buildRequests(records(), {
      model: 'gpt-4o-mini',
      system: 'Classify the review.',
      user: 'Review: {{text}}',
      params: { temperature: 0, max_tokens: 50 },
      schema,
      schemaName: 'review',
    }))
      out.push(l);
    expect(out).toHaveLength(2);
    const first = JSON.parse(out[0] as string) as {
      custom_id: string;
      body: {
        messages: unknown;
        response_format: { json_schema: { name: string; strict: boolean; schema: Record<string, unknown> } };
        temperature: number;
      };
    };
    expect(first.custom_id).toBe('review-1');
    expect(first.body.messages).toEqual([
      { role: 'system', content: 'Classify the review.' },
      { role: 'user', content: 'Review: Battery lasted 2 hours less than advertised.' },
    ]);
    expect(first.body.temperature).toBe(0);
    expect(first.body.response_format.json_schema).toMatchObject({ name: 'review', strict: true });
    expect(first.body.response_format.json_schema.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['sentiment', 'reason'],
    });
    expect(out.every((l) => l.endsWith('\n') && validateRequestLine(l.trimEnd(), '/v1/chat/completions').ok)).toBe(
      true,
    );
  });

  it('refuses optional fields that strict structured outputs cannot express', async () => {
    const gen = buildRequests(records(), {
      model: 'gpt-4o-mini',
      user: (r) => r.text,
      schema: z.object({ a: z.string().optional() }),
    });
    await expect(gen.next()).rejects.toThrow(/use .nullable\(\) instead of .optional\(\)/);
  });

  it('names a template field missing from a record', async () => {
    const gen = buildRequests(records(), { model: 'gpt-4o-mini', user: '{{title}}' });
    await expect(gen.next()).rejects.toThrow('template field "{{title}}" is missing from the record');
  });
});
