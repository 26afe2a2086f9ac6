import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchCreateParams } from 'openai/resources/batches';
import {
  FAST,
  chatLine,
  openEmulator,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';
import { validateSchema } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  // Small limits prove the limit errors without 200 MB files; the real limits are the defaults.
  fx = await openEmulator({ ...FAST, limits: { maxRequests: 5, maxBytes: 4096, maxEmbeddingInputs: 6 } });
});
afterAll(async () => fx?.close());

async function runBatch(
  lines: readonly unknown[],
  endpoint: BatchCreateParams['endpoint'] = '/v1/chat/completions',
): Promise<Batch> {
  const file = await uploadBatchFile(fx.client, await fx.writeJsonl(`v-${Math.random()}.jsonl`, lines));
  const created = await fx.client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
  const done = await waitForStatus(fx.client, created.id, ['failed', 'completed']);
  expect(validateSchema('Batch', done)).toEqual([]);
  return done;
}

function expectFailure(batch: Batch, expected: { code: string; line: number | null; param: string | null }): void {
  expect(batch.status).toBe('failed');
  expect(batch.failed_at).toBeTypeOf('number');
  expect(batch.in_progress_at).toBeNull();
  expect(batch.output_file_id).toBeNull();
  expect(batch.errors?.object).toBe('list');
  const first = batch.errors?.data?.[0];
  expect(first).toMatchObject(expected);
  expect(first?.message).toBeTypeOf('string');
  for (const entry of batch.errors?.data ?? []) expect(validateSchema('BatchError', entry)).toEqual([]);
}

describe('input validation fails the batch with errors.data entries (code, message, line, param)', () => {
  it('a line that is not JSON', async () => {
    expectFailure(await runBatch([chatLine('a'), '{"custom_id": "b", oops']), {
      code: 'invalid_json_line',
      line: 2,
      param: null,
    });
  });

  it.each(['custom_id', 'method', 'url', 'body'] as const)('a line without %s', async (field) => {
    const line: Record<string, unknown> = { ...chatLine('x') };
    delete line[field];
    expectFailure(await runBatch([chatLine('a'), line]), { code: 'missing_required_parameter', line: 2, param: field });
  });

  it('a duplicate custom_id', async () => {
    expectFailure(await runBatch([chatLine('a'), chatLine('b'), chatLine('a')]), {
      code: 'duplicate_custom_id',
      line: 3,
      param: 'custom_id',
    });
  });

  it('a url that does not match the batch endpoint', async () => {
    expectFailure(await runBatch([chatLine('a'), { ...chatLine('b'), url: '/v1/embeddings' }]), {
      code: 'url_mismatch',
      line: 2,
      param: 'url',
    });
  });

  it('more than one model', async () => {
    expectFailure(await runBatch([chatLine('a'), chatLine('b', 'hi', 'gpt-4o')]), {
      code: 'model_mismatch',
      line: 2,
      param: 'body.model',
    });
  });

  it('more requests than the limit', async () => {
    expectFailure(await runBatch(Array.from({ length: 6 }, (_, i) => chatLine(`r${i}`))), {
      code: 'too_many_tasks',
      line: null,
      param: null,
    });
  });

  it('a file larger than the byte limit', async () => {
    expectFailure(await runBatch([chatLine('a', 'x'.repeat(5000))]), {
      code: 'file_too_large',
      line: null,
      param: null,
    });
  });

  it('more embedding inputs than the limit across all requests', async () => {
    const embed = (id: string) => ({
      custom_id: id,
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'text-embedding-3-small', input: ['a', 'b', 'c', 'd'] },
    });
    expectFailure(await runBatch([embed('a'), embed('b')], '/v1/embeddings'), {
      code: 'too_many_tasks',
      line: null,
      param: null,
    });
  });

  it('an empty file', async () => {
    expectFailure(await runBatch([]), { code: 'empty_file', line: null, param: null });
  });

  it('every bad line is reported, not only the first', async () => {
    const batch = await runBatch([chatLine('a'), 'nope', chatLine('a'), { ...chatLine('c'), method: 'GET' }]);
    expect(batch.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ['invalid_json_line', 2],
      ['duplicate_custom_id', 3],
      ['invalid_method', 4],
    ]);
  });
});
