import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalizeJob, reconcileChunk } from '../../src/reconcile/index.ts';
import { parseOutputLine } from '../../src/reconcile/parse-output-line.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';
import { batchErrorLine, httpErrorLine, okLine } from './reconcile-fixtures.ts';

const body = (content: unknown) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content } }],
  usage: { prompt_tokens: 3, completion_tokens: 1 },
});
const envelope = (response: unknown, error: unknown = null, id = 'a') => ({
  id: 'batch_req_1',
  custom_id: id,
  response,
  error,
});

// Lines laid out to mislead a cut: the key and the tail inside strings, nested and repeated keys.
const SAMPLES: string[] = [
  okLine('a'),
  okLine('b', '{"label":"ok"}'),
  httpErrorLine('c', 429, 'rate_limit_exceeded'),
  batchErrorLine('d', 'batch_expired'),
  // OpenAI's own files put a space after ':' and ','.
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: body('hi') }))
    .replace(/":/g, '": ')
    .replace(/,"/g, ', "'),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: body('x"body":1},"error":null}') })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: body('tail }},"error":null}') })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: { nested: { body: 1 }, list: [{ body: '}' }] } })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: 'a string body' })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: 0 })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: body('nul \u0000 inside') })),
  JSON.stringify(envelope({ status_code: 200, request_id: 'r', body: body('é ✓ \u2028 "q" \\') })),
  JSON.stringify({ id: 'x', custom_id: 'id "body": 1', response: { status_code: 200, body: body('k') }, error: null }),
  JSON.stringify({
    custom_id: 'meta first',
    meta: { body: { a: 1 } },
    response: { status_code: 200, body: body('m') },
    error: null,
  }),
  JSON.stringify({ custom_id: 'response last', error: null, response: { status_code: 200, body: body('r') } }),
  JSON.stringify({ custom_id: 'after body', response: { status_code: 200, body: body('s'), extra: 1 }, error: null }),
  JSON.stringify(envelope({ status_code: 200, body: body('e') }, { code: 'x', message: 'y' })),
  '{"custom_id":"dup","response":{"status_code":200,"body":{"first":1},"body":{"second":2}},"error":null}',
  '{"custom_id":"dup2","response":{"body":{"first":1},"status_code":200,"body":0},"error":null}',
  '{"custom_id":"escaped key","response":{"status_code":200,"bo\\u0064y":{"a":1}},"error":null}',
  '{"custom_id":"ws" , "response" : { "status_code" : 200 , "body" :  { "a" : [ 1 , 2 ] }  } , "error" : null }  ',
];

function expectSameAsJsonParse(text: string): void {
  let expected: unknown;
  try {
    expected = JSON.parse(text);
  } catch {
    expect(parseOutputLine(text)).toBeUndefined();
    return;
  }
  const got = parseOutputLine(text);
  expect(got?.line).toEqual(expected);
  if (got?.bodyJson !== undefined) {
    expect(text).toContain(got.bodyJson);
    expect(JSON.parse(got.bodyJson)).toEqual((expected as { response: { body: unknown } }).response.body);
  }
}

describe('parsing an output line', () => {
  it('gives what JSON.parse gives, and a body text that parses to response.body', () => {
    for (const text of SAMPLES) expectSameAsJsonParse(text);
  });

  it('cuts the body out of the usual layouts, spaced or not, and leaves the others to JSON.parse', () => {
    const cut = SAMPLES.map((t) => parseOutputLine(t)?.bodyJson !== undefined);
    expect(cut.slice(0, 3)).toEqual([true, true, true]);
    expect(parseOutputLine(SAMPLES[4] as string)?.bodyJson).toBe(
      JSON.stringify(body('hi')).replace(/":/g, '": ').replace(/,"/g, ', "'),
    );
    expect(parseOutputLine(SAMPLES[10] as string)?.bodyJson).toBeUndefined(); // holds \u0000
    expect(parseOutputLine(SAMPLES[15] as string)?.bodyJson).toBeUndefined(); // a key after body
    expect(parseOutputLine(SAMPLES[16] as string)?.bodyJson).toBeUndefined(); // error not null
  });

  it('gives what JSON.parse gives on thousands of lines with one character inserted, removed or replaced', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const alphabet = '{}[]",:\\ 0n1e-.ubody';
    for (let i = 0; i < 4000; i++) {
      const text = SAMPLES[rand(SAMPLES.length)] as string;
      const at = rand(text.length + 1);
      const c = alphabet[rand(alphabet.length)] as string;
      const mutated = [
        text.slice(0, at) + c + text.slice(at),
        text.slice(0, at) + text.slice(at + 1),
        text.slice(0, at) + c + text.slice(at + 1),
      ][rand(3)] as string;
      expectSameAsJsonParse(mutated);
    }
  });
});

describe('records keep the body text the output file held', () => {
  let dir: string;
  let storage: BlobStorage;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
  afterEach(() => cleanup());

  it('copies a spaced body into results.jsonl as it was, with the same values', async () => {
    const spaced = SAMPLES[4] as string;
    const chunkUri = await writeInput(dir, 'chunk.jsonl', `${chatLine('a')}\n${chatLine('b')}\n`);
    const outputUri = await writeInput(dir, 'out.jsonl', `${spaced}\n${okLine('b')}\n`);
    const outcome = await reconcileChunk(
      {
        jobId: 'job',
        round: 0,
        chunkIndex: 0,
        chunkUri,
        batchId: 'batch_0',
        batchStatus: 'completed',
        outputUri,
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    expect(outcome.counts).toMatchObject({ succeeded: 2 });
    expect(outcome.usage).toEqual({ input: 13, cachedInput: 0, output: 6, reasoning: 0 });
    const report = await finalizeJob(
      {
        jobId: 'job',
        model: 'gpt-4o-mini',
        endpoint: '/v1/chat/completions',
        rounds: [{ round: 0, chunks: [{ index: 0, recordsUri: outcome.recordsUri, batchId: 'batch_0' }] }],
      },
      storage,
    );
    const [a, b] = lines(await readUri(report.resultsUri));
    const spacedBody = parseOutputLine(spaced)?.bodyJson as string;
    expect(a?.endsWith(`,"response":${spacedBody}}`)).toBe(true);
    expect((JSON.parse(a as string) as { response: unknown }).response).toEqual(body('hi'));
    expect((JSON.parse(b as string) as { response: unknown }).response).toEqual(
      (JSON.parse(okLine('b')) as { response: { body: unknown } }).response.body,
    );
  });
});
