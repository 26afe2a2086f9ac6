import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileChunk, type ReconcileChunkInput, type RowRecord } from '../../src/reconcile/index.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { batchErrorLine, httpErrorLine, okLine } from './reconcile-fixtures.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';

let dir: string;
let storage: BlobStorage;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
afterEach(() => cleanup());

const requestLines = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => chatLine(id));

async function run(files: { output?: string[]; error?: string[] }, over: Partial<ReconcileChunkInput> = {}) {
  const chunkUri = await writeInput(dir, 'chunk.jsonl', requestLines.join('\n') + '\n');
  const outputUri = files.output ? await writeInput(dir, 'out.jsonl', files.output.join('\n') + '\n') : undefined;
  const errorUri = files.error ? await writeInput(dir, 'err.jsonl', files.error.join('\n') + '\n') : undefined;
  const outcome = await reconcileChunk(
    {
      jobId: 'job',
      round: 1,
      chunkIndex: 2,
      chunkUri,
      batchId: 'batch_1',
      batchStatus: 'completed',
      endpoint: '/v1/chat/completions',
      ...(outputUri ? { outputUri } : {}),
      ...(errorUri ? { errorUri } : {}),
      ...over,
    },
    storage,
  );
  const records = new Map(
    lines(await readUri(outcome.recordsUri))
      .map((l) => JSON.parse(l) as RowRecord)
      .map((r) => [r.custom_id, r]),
  );
  const retry = outcome.retryUri ? lines(await readUri(outcome.retryUri)) : [];
  return { outcome, records, retry };
}

describe('reconcileChunk', () => {
  it('gives every custom_id of a completed batch exactly one record: succeeded, failed (retryable or not), missing', async () => {
    const { outcome, records, retry } = await run({
      output: [okLine('a'), okLine('b', 'x', { prompt_tokens: 7, completion_tokens: 3 })],
      error: [
        httpErrorLine('c', 429, 'rate_limit_exceeded', 'requests'),
        httpErrorLine('d', 400, 'context_length_exceeded'),
        httpErrorLine('e', 500, null, 'server_error'),
      ],
    });
    expect(outcome.recordsUri).toBe(storage.jobUri('job', 'r1', 'c2', 'records.jsonl'));
    expect(outcome.counts).toEqual({
      succeeded: 2,
      failed: 3,
      expired: 0,
      cancelled: 0,
      missing: 1,
      invalid_output: 0,
    });
    expect(records.size).toBe(6);
    expect(records.get('a')).toMatchObject({
      status: 'succeeded',
      round: 1,
      chunk: 2,
      batch_id: 'batch_1',
      request_id: 'req_a',
      error: null,
      usage: { input: 10, cachedInput: 0, output: 5, reasoning: 0 },
    });
    expect((records.get('a')?.response as { choices: unknown[] }).choices).toHaveLength(1);
    expect(records.get('c')).toMatchObject({
      status: 'failed',
      retryable: true,
      error: { code: 'rate_limit_exceeded', http_status: 429 },
    });
    expect(records.get('d')).toMatchObject({
      status: 'failed',
      retryable: false,
      error: { code: 'context_length_exceeded', http_status: 400 },
    });
    expect(records.get('e')).toMatchObject({
      status: 'failed',
      retryable: true,
      error: { code: 'server_error', http_status: 500 },
    });
    expect(records.get('f')).toMatchObject({ status: 'missing', retryable: true, error: { code: 'missing' } });
    expect(outcome.usage).toEqual({ input: 17, cachedInput: 0, output: 8, reasoning: 0 });
    // The exact request lines, copied from the chunk, in chunk order.
    expect(retry).toEqual([requestLines[2], requestLines[4], requestLines[5]]);
    expect(outcome.retryCount).toBe(3);
    expect(outcome.retryUri).toBe(storage.jobUri('job', 'r1', 'c2', 'retry.jsonl'));
  });

  it('an expired batch keeps its completed rows; unfinished rows are expired and retryable', async () => {
    const { outcome, records, retry } = await run(
      { output: [okLine('a')], error: [batchErrorLine('b', 'batch_expired')] },
      { batchStatus: 'expired' },
    );
    expect(outcome.counts).toMatchObject({ succeeded: 1, expired: 5 });
    expect(records.get('b')).toMatchObject({ status: 'expired', retryable: true, error: { code: 'batch_expired' } });
    expect(records.get('f')).toMatchObject({ status: 'expired', retryable: true });
    expect(retry).toHaveLength(5);
  });

  it('a cancelled batch: rows are retryable only when the deadline cancelled it', async () => {
    const byOperator = await run({ output: [okLine('a')] }, { batchStatus: 'cancelled' });
    expect(byOperator.outcome.counts).toMatchObject({ succeeded: 1, cancelled: 5 });
    expect(byOperator.outcome.retryCount).toBe(0);
    expect(byOperator.outcome.retryUri).toBeUndefined();
    const byDeadline = await run(
      { output: [okLine('a')], error: [batchErrorLine('b', 'batch_cancelled', 'cancelled')] },
      { batchStatus: 'cancelled', cancelledByDeadline: true },
    );
    expect(byDeadline.records.get('b')).toMatchObject({ status: 'cancelled', retryable: true });
    expect(byDeadline.outcome.retryCount).toBe(5);
  });

  it('a batch that failed validation marks every row failed with its line-numbered reasons', async () => {
    const { outcome, records } = await run(
      {},
      {
        batchStatus: 'failed',
        batchErrors: [
          { code: 'invalid_request', message: 'bad body', line: 3, param: 'body' },
          { code: 'token_limit_exceeded', message: 'Enqueued token limit reached', line: null },
        ],
      },
    );
    expect(outcome.counts.failed).toBe(6);
    expect(records.get('c')).toMatchObject({
      error: { code: 'invalid_request', message: 'bad body', line: 3, param: 'body' },
      retryable: false,
    });
    expect(records.get('a')).toMatchObject({ error: { code: 'token_limit_exceeded', line: null }, retryable: true });
  });

  it('a chunk that was never submitted is failed, not retryable', async () => {
    const { outcome, records } = await run({}, { batchStatus: 'not_submitted', batchId: null });
    expect(outcome.counts.failed).toBe(6);
    expect(records.get('a')).toMatchObject({ batch_id: null, error: { code: 'not_submitted' }, retryable: false });
  });

  it('content that fails the JSON schema is invalid_output, retried only when asked', async () => {
    const jsonSchema = {
      type: 'object',
      properties: { label: { type: 'string', enum: ['positive', 'negative'] } },
      required: ['label'],
      additionalProperties: false,
    };
    const output = [
      okLine('a'),
      okLine('b', '{"label":"meh"}'),
      okLine('c', 'not json'),
      okLine('d', '{"label":"negative","extra":1}'),
    ];
    const { outcome, records } = await run({ output }, { jsonSchema });
    expect(outcome.counts).toMatchObject({ succeeded: 1, invalid_output: 3, missing: 2 });
    expect(records.get('b')).toMatchObject({
      status: 'invalid_output',
      retryable: false,
      error: { code: 'schema_mismatch', message: '$.label: "meh" is not one of ["positive","negative"]' },
    });
    expect(records.get('c')?.error?.code).toBe('invalid_json_output');
    expect(records.get('d')?.error?.message).toBe('$: unexpected property "extra"');
    const retried = await run(
      { output },
      { jsonSchema: { name: 'r', strict: true, schema: jsonSchema }, retryInvalidOutput: true },
    );
    expect(retried.outcome.retryCount).toBe(5);
  });

  it('counts duplicate and unknown custom_ids as anomalies instead of merging them', async () => {
    const { outcome, records } = await run({
      output: [okLine('a'), okLine('a', 'second'), okLine('zzz'), okLine('b')],
      error: [batchErrorLine('b', 'batch_expired')],
    });
    expect(outcome.anomalies).toEqual({ duplicates: 2, unknown: 1 });
    expect(records.size).toBe(6);
    expect(
      (records.get('a')?.response as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    ).toBe('{"label":"positive"}');
    expect(records.get('b')?.status).toBe('succeeded');
  });
});
