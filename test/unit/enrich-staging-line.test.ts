// The import's conversion of a results.jsonl line into a staging row (COPY text) must give what the
// straightforward conversion gives (parse the line, parse and re-serialize the answer, escape every
// field) on the job's own lines and on crafted ones: every field byte for byte, except that the
// answer may keep its own text (same JSON value, so the same jsonb: whitespace and key order are
// what jsonb normalizes) when it has no number JavaScript writes differently; 1.0 must still reach
// a typed cast as 1.
import { describe, expect, it } from 'vitest';
import { answerText } from '../../src/reconcile/index.ts';
import { stagingLine } from '../../src/pipeline/pg-sink.ts';
import type { BatchEndpoint } from '../../src/requests/index.ts';

/** The conversion before it was made fast (pg-sink.ts at 59b49b5), as the reference. */
function reference(raw: Buffer, endpoint: BatchEndpoint, model: string | null): string {
  const copyField = (value: string | number | null): string =>
    value === null
      ? '\\N'
      : String(value).replace(/[\\\t\n\r]/g, (c) =>
          c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
        );
  const r = JSON.parse(raw.toString('utf8')) as {
    custom_id: string;
    status: string;
    batch_ids?: (string | null)[];
    error?: unknown;
    usage?: { input?: number; output?: number } | null;
    response?: unknown;
  };
  let answer: string | null = null;
  if (r.status === 'succeeded') {
    const { text } = answerText(r.response, endpoint);
    if (text !== undefined) {
      try {
        answer = JSON.stringify(JSON.parse(text));
      } catch {
        answer = JSON.stringify(text);
      }
    }
  }
  const tokens = r.usage ? (r.usage.input ?? 0) + (r.usage.output ?? 0) : null;
  const batchId = r.batch_ids?.filter((b) => b !== null).at(-1) ?? null;
  return (
    [
      copyField(r.custom_id),
      copyField(r.status),
      copyField(answer),
      copyField(r.status === 'succeeded' || r.error == null ? null : JSON.stringify(r.error)),
      copyField(model),
      copyField(tokens),
      copyField(batchId),
    ].join('\t') + '\n'
  );
}

const chat = (content: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop' }],
});

const ANSWERS: unknown[] = [
  '{"sentiment":"positive","topic":"price","urgency":2}',
  '{"sentiment": "negative", "topic": "shipping", "urgency": 1.0}',
  '{"urgency":1e0,"x":-0,"y":12345678901234567890,"z":0.1,"w":-5}',
  '{"big":1e400}',
  '  {"spaces" : [ 1 , 2 ] }  ',
  '{"b":1,"2":3,"a":{"a":1,"a":2}}',
  '{"tab\\there":"new\\nline \\\\ back","uni":"\\u00e9 é 😀","slash":"\\/"}',
  '"just a JSON string"',
  '42',
  'not JSON at all: a plain\ttext\nanswer with \\ backslash',
  '{"truncated": ',
  '',
  'null',
  '[1.50, 2, 3e-2]',
  '{"k":"v10.5e3 digits in a string: 2024-01-01"}',
];

function lines(): { raw: Buffer; endpoint: BatchEndpoint }[] {
  const out: { raw: Buffer; endpoint: BatchEndpoint }[] = [];
  let n = 0;
  const add = (line: Record<string, unknown>, endpoint: BatchEndpoint = '/v1/chat/completions') =>
    out.push({
      raw: Buffer.from(JSON.stringify({ custom_id: `id-${n++}`, attempts: 1, round: 1, ...line })),
      endpoint,
    });
  for (const a of ANSWERS) {
    add({
      status: 'succeeded',
      batch_ids: ['batch_1'],
      error: null,
      usage: { input: 10, output: 3 },
      response: chat(a),
    });
    add(
      {
        status: 'succeeded',
        batch_ids: ['b1'],
        usage: { input: 5 },
        response: { output: [{ content: [{ type: 'output_text', text: a }] }] },
      },
      '/v1/responses',
    );
  }
  add({ status: 'succeeded', batch_ids: ['b'], response: chat('x', { refusal: 'no' }), usage: null });
  add({ status: 'succeeded', batch_ids: [], response: chat(null) });
  add({ status: 'succeeded', response: null });
  add({
    status: 'failed',
    batch_ids: ['b1', null, 'b2', null],
    error: { code: 'rate_limit_exceeded', message: 'a\tb\nc\\d' },
  });
  add({ status: 'expired', batch_ids: [null], error: null, usage: { output: 7 } });
  add({ status: 'invalid_output', batch_ids: ['b'], error: { code: 'x' }, response: chat('{"a":1}') });
  out.push({
    raw: Buffer.from('{"custom_id":"tab\\there\\\\","status":"failed","error":{"m":"é"}}'),
    endpoint: '/v1/chat/completions',
  });
  out.push({ raw: Buffer.from('{"custom_id":7,"status":"missing"}'), endpoint: '/v1/chat/completions' });
  // Random answers: numbers of every kind inside objects, arrays and strings.
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const numbers = [
    '0',
    '1',
    '-1',
    '1.0',
    '2.50',
    '1e3',
    '1E-2',
    '-0',
    '-0.0',
    '9007199254740993',
    '123456789012345',
    '3.14159',
  ];
  for (let i = 0; i < 500; i++) {
    const pick = () => numbers[Math.floor(rand() * numbers.length)]!;
    const text = `{"n":${pick()},"s":"${pick()}","a":[${pick()},${pick()}],"o":{"k":${pick()}}}`;
    add({ status: 'succeeded', batch_ids: ['b'], usage: { input: i, output: 1 }, response: chat(text) });
  }
  return out;
}

/** A COPY text field back to its text (null for \\N). */
function unescape(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

describe('stagingLine equals the straightforward conversion', () => {
  it.each([['gpt-4o-mini'], ['a\tmodel\\with\nspecials'], [null]])('model %s', (model) => {
    const modelField =
      model === null ? '\\N' : model.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
    let kept = 0;
    for (const { raw, endpoint } of lines()) {
      const fast = stagingLine(raw, endpoint, modelField);
      const slow = reference(raw, endpoint, model);
      if (fast === slow) continue;
      const [f, s] = [fast.split('\t'), slow.split('\t')];
      expect(f.length, raw.toString()).toBe(7);
      for (const i of [0, 1, 3, 4, 5, 6]) expect(f[i], raw.toString()).toBe(s[i]);
      const [fa, sa] = [unescape(f[2]!), unescape(s[2]!)];
      expect(fa, raw.toString()).not.toBeNull();
      expect(JSON.parse(fa!), raw.toString()).toEqual(JSON.parse(sa!));
      // Kept as written only when re-serializing would change nothing but layout.
      expect(JSON.stringify(JSON.parse(fa!)), raw.toString()).toBe(sa);
      kept++;
    }
    expect(kept).toBeGreaterThan(0);
  });

  it('normalizes the numbers a typed cast reads: 1.0 becomes 1, 1e400 null', () => {
    const row = (content: string) =>
      stagingLine(
        Buffer.from(JSON.stringify({ custom_id: 'k', status: 'succeeded', response: chat(content) })),
        '/v1/chat/completions',
        'm',
      ).split('\t')[2];
    expect(row('{"urgency": 1.0, "topic": "shipping"}')).toBe('{"urgency":1,"topic":"shipping"}');
    expect(row('{"u":1e400}')).toBe('{"u":null}');
    expect(row('{"u":-0}')).toBe('{"u":0}');
    expect(row('{"u":9007199254740993}')).toBe('{"u":9007199254740992}');
    expect(row('{"u": 3}')).toBe('{"u": 3}');
  });
});
