import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalizeJob, reconcileChunk, type RowRecord } from '../../src/reconcile/index.ts';
import { customIdOf, customIdOfRaw, recordLine } from '../../src/reconcile/row-record.ts';
import { splitRecordLine } from '../../src/reconcile/split-record-line.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';
import { batchErrorLine, httpErrorLine, okLine } from './reconcile-fixtures.ts';

const record = (over: Partial<RowRecord>): RowRecord => ({
  custom_id: 'a',
  status: 'succeeded',
  round: 0,
  chunk: 0,
  batch_id: 'batch_1',
  retryable: false,
  request_id: 'req_1',
  error: null,
  usage: { input: 1, cachedInput: 0, output: 2, reasoning: 0 },
  response: null,
  ...over,
});

// Responses and ids chosen to trip a naive splitter: the key text inside strings and nested objects.
const TRICKY: RowRecord[] = [
  record({}),
  record({
    response: { choices: [{ message: { content: '{"x":1},"response":{"y":2}' } }], usage: { prompt_tokens: 3 } },
  }),
  record({ custom_id: 'id,"response":1', response: { response: { response: 'é ✓ \u2028 "q" \\' } } }),
  record({
    custom_id: 'ünï\ncode',
    status: 'failed',
    retryable: true,
    error: { code: 'rate_limit_exceeded', message: ',"response":{', http_status: 429 },
    usage: null,
    response: [1, 2.5, -0, 1e300, true, null],
  }),
  record({ response: '' }),
  record({ response: 42 }),
  record({ response: 'a\\"b\\' }),
  record({ response: { '10': 'numeric keys', b: 1, '2': 'sorted first' } }),
];

describe('splitting a record line', () => {
  it('gives the parsed head and the response as exactly JSON.stringify of the parsed response', () => {
    for (const rec of TRICKY) {
      const text = recordLine(rec);
      const { head, responseJson } = splitRecordLine(text);
      const {
        response,
        response_chars: chars,
        ...expectedHead
      } = JSON.parse(text) as RowRecord & { response_chars: number };
      expect(head).toEqual(expectedHead);
      expect(responseJson).toBe(JSON.stringify(response));
      expect(chars).toBe(responseJson?.length);
    }
  });

  it('splits records written without response_chars (before it existed) by counting brackets', () => {
    for (const rec of TRICKY) {
      const { response_chars: _chars, ...old } = JSON.parse(recordLine(rec)) as RowRecord & { response_chars: number };
      const { response, ...expectedHead } = old;
      expect(splitRecordLine(JSON.stringify(old))).toEqual({
        head: expectedHead,
        responseJson: JSON.stringify(response),
      });
    }
  });

  it('parses a line whole when response_chars does not match the text after it', () => {
    const text = recordLine(TRICKY[1] as RowRecord);
    const {
      response,
      response_chars: chars,
      ...expectedHead
    } = JSON.parse(text) as RowRecord & { response_chars: number };
    const miscounted = text.replace(`"response_chars":${chars}`, `"response_chars":${chars + 1}`);
    const padded = text.replace(/\}$/, ' }');
    for (const line of [miscounted, padded])
      expect(splitRecordLine(line)).toEqual({ head: expectedHead, responseJson: JSON.stringify(response) });
  });

  it('parses a line in another layout whole (response not last, extra key, no response)', () => {
    const { response_chars: _chars, ...base } = JSON.parse(recordLine(TRICKY[1] as RowRecord)) as RowRecord & {
      response_chars: number;
    };
    const { response, ...rest } = base;
    const responseFirst = JSON.stringify({ response, ...rest });
    expect(splitRecordLine(responseFirst)).toEqual({ head: rest, responseJson: JSON.stringify(response) });
    const extraKey = JSON.stringify({ ...base, extra: { response: 1 } });
    expect(splitRecordLine(extraKey)).toEqual({
      head: { ...rest, extra: { response: 1 } },
      responseJson: JSON.stringify(response),
    });
    expect(splitRecordLine(JSON.stringify(rest))).toEqual({ head: rest, responseJson: undefined });
  });
});

describe('reading a custom_id from bytes', () => {
  it('agrees with the text path on plain, escaped, unicode and non-leading ids', () => {
    const samples = [
      recordLine(record({ custom_id: 'plain-1' })),
      recordLine(record({ custom_id: 'esc"aped\\id' })),
      recordLine(record({ custom_id: 'ünï ✓ 日本' })),
      chatLine('req-7'),
      '{ "custom_id" : "spaced", "x": 1 }',
      '{"method":"POST","custom_id":"second"}',
      '{"x":1}',
      'not json',
    ];
    const got = samples.map((s) => customIdOfRaw(Buffer.from(s)));
    expect(got).toEqual(samples.map((s) => customIdOf(s)));
    expect(got).toEqual(['plain-1', 'esc"aped\\id', 'ünï ✓ 日本', 'req-7', 'spaced', 'second', undefined, undefined]);
  });
});

describe('final merge output', () => {
  let dir: string;
  let storage: BlobStorage;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
  afterEach(() => cleanup());

  it('writes each result line byte for byte as JSON.stringify of the fully parsed record would', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const chunkUri = await writeInput(dir, 'chunk.jsonl', ids.map((id) => chatLine(id)).join('\n') + '\n');
    const outputUri = await writeInput(
      dir,
      'out.jsonl',
      [okLine('a', '{"x":1},"response":2'), okLine('b', 'ünï ✓')].join('\n') + '\n',
    );
    const errorUri = await writeInput(
      dir,
      'err.jsonl',
      [httpErrorLine('c', 429, 'rate_limit_exceeded'), batchErrorLine('d', 'batch_expired')].join('\n') + '\n',
    );
    const outcome = await reconcileChunk(
      {
        jobId: 'job',
        round: 0,
        chunkIndex: 0,
        chunkUri,
        batchId: 'batch_0',
        batchStatus: 'completed',
        outputUri,
        errorUri,
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    const report = await finalizeJob(
      {
        jobId: 'job',
        model: 'gpt-4o-mini',
        endpoint: '/v1/chat/completions',
        rounds: [{ round: 0, chunks: [{ index: 0, recordsUri: outcome.recordsUri, batchId: 'batch_0' }] }],
      },
      storage,
    );
    const expected = lines(await readUri(outcome.recordsUri)).map((l) => {
      const rec = JSON.parse(l) as RowRecord;
      return JSON.stringify({
        custom_id: rec.custom_id,
        status: rec.status,
        attempts: 1,
        batch_ids: ['batch_0'],
        round: 0,
        error: rec.error,
        usage: rec.usage,
        response: rec.response,
      });
    });
    expect(lines(await readUri(report.resultsUri))).toEqual(expected);
    expect(expected).toHaveLength(5);
    expect(report.counts).toMatchObject({ succeeded: 2, failed: 1, expired: 1, missing: 1 });
  });
});
