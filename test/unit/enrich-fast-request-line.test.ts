// The export's fast row builder (`rowRequestBuilder`, a template serialized once) must give exactly
// what `requestLineFor` gives (same verdict, same message, same bytes) on good and bad rows, and
// every line it builds must pass `validateRequestLine` as the planner runs it.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MAX_TEXT_CHARS, requestLineFor, rowRequestBuilder } from '../../src/pipeline/pg-source.ts';
import { strictJsonSchema, validateRequestLine } from '../../src/requests/index.ts';
import type { EnrichTemplate } from '../../workflows/enrich/enrich-types.ts';

const labels = strictJsonSchema(
  z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']), topic: z.string(), urgency: z.number().int() }),
  'review_labels',
);

const TEMPLATES: Record<string, EnrichTemplate> = {
  chat: {
    model: 'gpt-4o-mini',
    system: 'Classify the customer review: sentiment, topic, urgency from 1 to 5.',
    user: 'Review: {{body}}',
    params: { temperature: 0 },
    responseFormat: labels,
  },
  'chat, placeholders in both prompts, repeated, adjacent, with spaces': {
    model: 'gpt-4o-mini',
    system: 'Reviews of {{ product }} ("{{product}}"), \\ tab\there é 😀.',
    user: '{{product}}{{body}} / {{ stars }}',
    responseFormat: labels,
  },
  'chat, no system, no schema': { model: 'gpt-4o-mini', user: '{{body}}' },
  responses: {
    endpoint: '/v1/responses',
    model: 'gpt-4o-mini',
    system: 'Label it.',
    user: '{{body}}',
    params: { max_output_tokens: 50 },
    responseFormat: labels,
  },
  'params that override the model': {
    model: 'gpt-4o-mini',
    user: 'Review: {{body}}',
    params: { model: 'gpt-4.1-nano', temperature: 0.2 },
  },
  'params that replace the messages (the placeholders are checked, not shown)': {
    model: 'gpt-4o-mini',
    user: 'Review: {{body}}',
    params: { messages: [{ role: 'user', content: 'fixed' }] },
  },
  'params that make every request invalid': {
    model: 'gpt-4o-mini',
    user: 'Review: {{body}}',
    params: { stream: true },
  },
  'an empty model': { model: '', user: 'Review: {{body}}' },
  'a template with a lone surrogate': { model: 'gpt-4o-mini', user: 'Review \ud83d: {{body}}' },
};

const long = 'y'.repeat(DEFAULT_MAX_TEXT_CHARS);
const ROWS: [string, Record<string, unknown>][] = [
  ['1', { body: 'Great kettle, boils fast', product: 'kettle', stars: 5 }],
  [
    '2',
    { body: 'Quotes " and \\ backslashes\nnew lines\ttabs\r\u0000\u001f\u2028\u2029', product: 'k"ettle', stars: 1 },
  ],
  ['3', { body: 'Émile 😀 日本語 \u{10ffff}', product: 'é', stars: 3.5 }],
  ['4', { body: long, product: 'kettle', stars: 2 }],
  ['5', { body: long + 'z', product: 'kettle', stars: 2 }],
  ['6', { body: null, product: 'kettle', stars: 2 }],
  ['7', { body: 'fine', product: null, stars: 2 }],
  ['8', { body: 'fine', product: 'kettle' }],
  ['9', { body: '', product: 'kettle', stars: 4 }],
  ['10', { body: 'lone \ud800 high', product: 'kettle', stars: 4 }],
  ['11', { body: '\udc00 lone low first', product: '\ud83d', stars: 4 }],
  ['12', { body: new Date(Date.UTC(2024, 1, 29, 12, 0, 0)), product: { a: [1, 'b'] }, stars: true }],
  ['', { body: 'an empty key', product: 'kettle', stars: 1 }],
  ['k'.repeat(512), { body: 'a 512-character key', product: 'kettle', stars: 1 }],
  ['k'.repeat(513), { body: 'a 513-character key', product: 'kettle', stars: 1 }],
  ['key "quoted" \\ é 😀 \t', { body: 'odd key', product: 'kettle', stars: 1 }],
  ['lone \ud800 key', { body: 'odd key', product: 'kettle', stars: 1 }],
  ['13', { body: long, product: null, stars: 1 }],
  // Control characters without a quote or backslash (the fast path's escape test must see them).
  ['14', { body: 'controls only\nnew line\ttab\u0001\u007f', product: 'ke\rttle', stars: 1 }],
  ['tab\tkey', { body: 'a key with a tab', product: 'kettle', stars: 1 }],
];

describe('the fast row builder equals requestLineFor', () => {
  for (const [name, template] of Object.entries(TEMPLATES)) {
    it(`gives the same verdicts, messages and bytes: ${name}`, () => {
      const fast = rowRequestBuilder(template, DEFAULT_MAX_TEXT_CHARS);
      const endpoint = template.endpoint ?? '/v1/chat/completions';
      let lines = 0;
      for (const [key, row] of ROWS) {
        const expected = requestLineFor(row, key, template, DEFAULT_MAX_TEXT_CHARS);
        const got = fast(row, key);
        expect(got, `row ${JSON.stringify(key).slice(0, 40)}`).toEqual(expected);
        if ('line' in got) {
          lines++;
          expect(validateRequestLine(got.line, endpoint).ok).toBe(true);
        }
      }
      // Not hollow: each template builds some lines unless it makes every request invalid.
      if (name === 'params that make every request invalid' || name === 'an empty model') expect(lines).toBe(0);
      else expect(lines).toBeGreaterThan(5);
    });
  }

  it('applies its own maxTextChars, as the slow path does', () => {
    const template = TEMPLATES['chat']!;
    const fast = rowRequestBuilder(template, 10);
    for (const body of ['0123456789', '01234567890'])
      expect(fast({ body }, 'k')).toEqual(requestLineFor({ body }, 'k', template, 10));
    expect(fast({ body: '01234567890' }, 'k')).toMatchObject({ reason: 'text_too_long' });
  });

  it('gives the same result on 2,000 random rows', () => {
    const template = TEMPLATES['chat, placeholders in both prompts, repeated, adjacent, with spaces']!;
    const fast = rowRequestBuilder(template, 40);
    const alphabet = ['a', 'é', '😀', '"', '\\', '\n', '\u0000', '\ud800', '\udc00', ' ', '\u2028', '{', '}'];
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const text = () => Array.from({ length: rand(45) }, () => alphabet[rand(alphabet.length)]).join('');
    for (let i = 0; i < 2_000; i++) {
      const row = { body: rand(20) === 0 ? null : text(), product: text(), stars: rand(6) };
      const key = rand(50) === 0 ? '' : text() || String(i);
      expect(fast(row, key)).toEqual(requestLineFor(row, key, template, 40));
    }
  });
});
