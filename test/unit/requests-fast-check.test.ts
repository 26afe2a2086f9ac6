import { describe, expect, it } from 'vitest';
import { validateRequestLine, type BatchEndpoint } from '../../src/requests/index.ts';
import { fastCheckRequest } from '../../src/requests/fast-check.ts';
import { validateWithSchemas } from '../../src/requests/validate-request-line.ts';

type Json = Record<string, unknown>;

const VALID_BODIES: Record<BatchEndpoint, Json[]> = {
  '/v1/chat/completions': [
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: [{ type: 'text', text: 'x' }] },
      ],
      max_tokens: 5,
      stream: false,
    },
    {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'assistant', content: null, tool_calls: [] },
        { role: 'tool', content: 'r', tool_call_id: 't' },
        { role: 'developer' },
      ],
    },
  ],
  '/v1/responses': [
    { model: 'gpt-5', input: 'x' },
    { model: 'gpt-5', input: [{ role: 'user', content: 'x' }], instructions: 'be brief' },
  ],
  '/v1/embeddings': [
    { model: 'text-embedding-3-small', input: 'a' },
    { model: 'text-embedding-3-small', input: ['a', 'b'] },
    { model: 'text-embedding-3-small', input: Array.from({ length: 2048 }, (_, i) => `s${i}`) },
  ],
  '/v1/completions': [
    { model: 'gpt-3.5-turbo-instruct', prompt: 'x' },
    { model: 'gpt-3.5-turbo-instruct', prompt: '' },
    { model: 'gpt-3.5-turbo-instruct', prompt: ['a', ''] },
    { model: 'gpt-3.5-turbo-instruct', prompt: [] },
  ],
  '/v1/moderations': [{ input: 'x' }, { model: 'omni-moderation-latest', input: ['x', { type: 'image_url' }] }],
};

// Bodies the hand-written checks leave to zod although zod accepts them (rare shapes).
const LEFT_TO_ZOD: [BatchEndpoint, Json][] = [
  ['/v1/embeddings', { model: 'text-embedding-3-small', input: [1, 2, 3] }],
  ['/v1/embeddings', { model: 'text-embedding-3-small', input: [[1, 2], [3]] }],
  ['/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: [1, 2] }],
];

const envelope = (endpoint: BatchEndpoint, body: unknown, over: Json = {}): Json => ({
  custom_id: 'row-1',
  method: 'POST',
  url: endpoint,
  body,
  ...over,
});

/** Every way to spoil a valid line that the tests below try, per endpoint: one field at a time. */
function spoiled(endpoint: BatchEndpoint, body: Json): [string, unknown][] {
  const cases: [string, unknown][] = [
    ['array line', [envelope(endpoint, body)]],
    ['string line', 'x'],
    ['null line', null],
    ['extra top-level key', envelope(endpoint, body, { extra: 1 })],
    ['__proto__ top-level key', JSON.parse(`{"__proto__":{},${JSON.stringify(envelope(endpoint, body)).slice(1)}`)],
    ['missing custom_id', envelope(endpoint, body, { custom_id: undefined })],
    ['numeric custom_id', envelope(endpoint, body, { custom_id: 7 })],
    ['empty custom_id', envelope(endpoint, body, { custom_id: '' })],
    ['custom_id over the limit', envelope(endpoint, body, { custom_id: 'x'.repeat(513) })],
    ['method GET', envelope(endpoint, body, { method: 'GET' })],
    ['missing method', envelope(endpoint, body, { method: undefined })],
    ['other url', envelope(endpoint, body, { url: endpoint === '/v1/responses' ? '/v1/embeddings' : '/v1/responses' })],
    ['numeric url', envelope(endpoint, body, { url: 1 })],
    ['array body', envelope(endpoint, [body])],
    ['null body', envelope(endpoint, null)],
    ['string body', envelope(endpoint, 'body')],
    ['missing body', envelope(endpoint, body, { body: undefined })],
    ['empty model', envelope(endpoint, { ...body, model: '' })],
    ['numeric model', envelope(endpoint, { ...body, model: 4 })],
  ];
  if (endpoint !== '/v1/embeddings' && endpoint !== '/v1/moderations') {
    cases.push(
      ['stream true', envelope(endpoint, { ...body, stream: true })],
      ['stream null', envelope(endpoint, { ...body, stream: null })],
    );
  }
  if (endpoint !== '/v1/moderations') cases.push(['missing model', envelope(endpoint, { ...body, model: undefined })]);
  const chat = (messages: unknown): [string, unknown] => [
    `messages ${JSON.stringify(messages)}`,
    envelope(endpoint, { ...body, messages }),
  ];
  const input = (value: unknown): [string, unknown] => [
    `input ${JSON.stringify(value)?.slice(0, 40)}`,
    envelope(endpoint, { ...body, input: value }),
  ];
  switch (endpoint) {
    case '/v1/chat/completions':
      cases.push(
        chat([]),
        chat('hi'),
        chat(undefined),
        chat([null]),
        chat(['hi']),
        chat([{ content: 'x' }]),
        chat([{ role: 'robot', content: 'x' }]),
        chat([{ role: 7 }]),
      );
      cases.push(
        chat([{ role: 'user', content: 7 }]),
        chat([{ role: 'user', content: { text: 'x' } }]),
        chat([{ role: 'user', content: [{ text: 'x' }] }]),
        chat([{ role: 'user', content: ['x'] }]),
        chat([{ role: 'user', content: [null] }]),
      );
      break;
    case '/v1/responses':
      cases.push(
        input(''),
        input([]),
        input(['x']),
        input([['x']]),
        input([null]),
        input(7),
        input(undefined),
        input({ role: 'user' }),
      );
      break;
    case '/v1/embeddings':
      cases.push(
        input(''),
        input([]),
        input(['a', '']),
        input([null]),
        input(7),
        input(undefined),
        input({}),
        input([-1]),
        input([1.5]),
        input([[]]),
        input(Array.from({ length: 2049 }, () => 'x')),
      );
      break;
    case '/v1/completions':
      cases.push(
        ['prompt missing', envelope(endpoint, { ...body, prompt: undefined })],
        ['prompt number', envelope(endpoint, { ...body, prompt: 7 })],
        ['prompt [null]', envelope(endpoint, { ...body, prompt: [null] })],
        ["prompt [['a']]", envelope(endpoint, { ...body, prompt: [['a']] })],
      );
      break;
    case '/v1/moderations':
      cases.push(input(''), input([]), input(7), input(undefined), input(null));
      break;
  }
  return cases;
}

const text = (value: unknown): string => JSON.stringify(value);

describe('fast request checks agree with the zod schemas', () => {
  for (const endpoint of Object.keys(VALID_BODIES) as BatchEndpoint[]) {
    it(`${endpoint}: valid lines take the fast path and give what zod gives`, () => {
      for (const body of VALID_BODIES[endpoint]) {
        const value = JSON.parse(text(envelope(endpoint, body))) as unknown;
        const fast = fastCheckRequest(value, endpoint, 512);
        const zod = validateWithSchemas(value, endpoint, 512);
        expect(zod.ok, JSON.stringify(body).slice(0, 80)).toBe(true);
        expect(fast, JSON.stringify(body).slice(0, 80)).toBeDefined();
        if (!zod.ok || !fast) continue;
        expect(fast.customId).toBe(zod.request.customId);
        expect(fast.model).toBe(zod.request.model);
        expect(fast.body).toEqual(zod.request.body);
        expect(validateRequestLine(text(envelope(endpoint, body)), endpoint)).toEqual({ ok: true, request: fast });
      }
    });

    it(`${endpoint}: every spoiled line is refused by the fast path and reported with zod's messages`, () => {
      for (const body of VALID_BODIES[endpoint]) {
        for (const [what, line] of spoiled(endpoint, body)) {
          const value = JSON.parse(text(line)) as unknown;
          const zod = validateWithSchemas(value, endpoint, 512);
          expect(zod.ok, `${what}: zod rejects it`).toBe(false);
          expect(fastCheckRequest(value, endpoint, 512), `${what}: fast path refuses it`).toBeUndefined();
          const viaLine = validateRequestLine(text(line), endpoint);
          expect(viaLine, what).toEqual(zod);
          if (!viaLine.ok) expect(viaLine.issues.length, what).toBeGreaterThan(0);
        }
      }
    });
  }

  it('rare valid shapes (token-id inputs) are left to zod, which accepts them', () => {
    for (const [endpoint, body] of LEFT_TO_ZOD) {
      const value = JSON.parse(text(envelope(endpoint, body))) as unknown;
      expect(fastCheckRequest(value, endpoint, 512)).toBeUndefined();
      const r = validateRequestLine(text(envelope(endpoint, body)), endpoint);
      expect(r).toMatchObject({ ok: true, request: { customId: 'row-1', model: body['model'] } });
    }
  });

  it('a body with an own "__proto__" key is left to zod, and the result is zod\'s', () => {
    const body = JSON.parse(
      '{"__proto__":{"x":1},"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    ) as Json;
    const value = envelope('/v1/chat/completions', body);
    expect(fastCheckRequest(value, '/v1/chat/completions', 512)).toBeUndefined();
    const line = `{"custom_id":"row-1","method":"POST","url":"/v1/chat/completions","body":{"__proto__":{"x":1},"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}}`;
    expect(validateRequestLine(line, '/v1/chat/completions')).toEqual(
      validateWithSchemas(JSON.parse(line), '/v1/chat/completions', 512),
    );
  });

  it('honours a custom custom_id limit exactly at and one over', () => {
    const value = envelope('/v1/chat/completions', VALID_BODIES['/v1/chat/completions'][0], {
      custom_id: 'x'.repeat(64),
    });
    expect(fastCheckRequest(value, '/v1/chat/completions', 64)?.customId).toBe('x'.repeat(64));
    const over = { ...value, custom_id: 'x'.repeat(65) };
    expect(fastCheckRequest(over, '/v1/chat/completions', 64)).toBeUndefined();
    expect(validateRequestLine(text(over), '/v1/chat/completions', { maxCustomIdLength: 64 })).toEqual({
      ok: false,
      issues: [{ reason: 'invalid_custom_id', field: 'custom_id', message: 'custom_id must be at most 64 characters' }],
    });
  });

  it('a spoiled line gets the same reasons from validateRequestLine as before the fast path (examples)', () => {
    const chat = VALID_BODIES['/v1/chat/completions'][0] as Json;
    const reasons = (line: Json) => {
      const r = validateRequestLine(text(line), '/v1/chat/completions');
      return r.ok ? [] : r.issues.map((i) => `${i.reason} ${i.field ?? ''}`);
    };
    expect(reasons(envelope('/v1/chat/completions', { ...chat, stream: true }))).toEqual(['invalid_body body.stream']);
    expect(reasons(envelope('/v1/chat/completions', { ...chat, messages: [{ role: 'robot', content: 'x' }] }))).toEqual(
      ['invalid_body body.messages[0].role'],
    );
    expect(reasons(envelope('/v1/chat/completions', chat, { url: '/v1/responses' }))).toEqual(['url_mismatch url']);
    expect(reasons(envelope('/v1/chat/completions', chat, { extra: 1 }))).toEqual(['unknown_field line']);
  });
});
