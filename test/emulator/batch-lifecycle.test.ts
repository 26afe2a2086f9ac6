import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError, NotFoundError, toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import {
  FAST,
  chatLine,
  openEmulator,
  readJsonl,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';
import { validateSchema, SPEC_2025_06 } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator({ ...FAST, rowsPerSecond: 40, validatingSeconds: 0.3, finalizingSeconds: 0.5 });
});
afterAll(async () => fx?.close());

async function createChatBatch(rows: number, metadata?: Record<string, string>) {
  const path = await fx.writeJsonl(
    `b-${Date.now()}-${rows}.jsonl`,
    Array.from({ length: rows }, (_, i) => chatLine(`r-${i}`)),
  );
  const file = await uploadBatchFile(fx.client, path);
  return fx.client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    ...(metadata ? { metadata } : {}),
  });
}

describe('batch lifecycle', () => {
  it('goes validating -> in_progress -> finalizing -> completed, counts advancing with time and each *_at set when reached', async () => {
    const created = await createChatBatch(40, {
      job_id: 'job-1',
      round: '0',
      chunk: '0',
      idempotency_key: 'job-1/r0/c0',
    });
    expect(created.status).toBe('validating');
    expect(validateSchema('Batch', created)).toEqual([]);
    expect(created.expires_at).toBe(created.created_at + 86_400);
    expect(created.in_progress_at).toBeNull();

    const seen = new Map<Batch['status'], Batch>();
    const deadline = Date.now() + 15_000;
    let last: Batch = created;
    while (last.status !== 'completed' && Date.now() < deadline) {
      last = await fx.client.batches.retrieve(created.id);
      expect(validateSchema('Batch', last)).toEqual([]);
      if (!seen.has(last.status)) seen.set(last.status, last);
      if (last.status === 'in_progress') {
        const c = last.request_counts!;
        expect(c.total).toBe(40);
        expect(c.completed + c.failed).toBeLessThanOrEqual(40);
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    expect([...seen.keys()]).toEqual(['validating', 'in_progress', 'finalizing', 'completed']);
    const midway = seen.get('in_progress')!;
    expect(midway.request_counts!.completed).toBeLessThan(40);
    const finalizing = seen.get('finalizing')!;
    expect(finalizing.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    expect(finalizing.finalizing_at).not.toBeNull();
    expect(finalizing.output_file_id).toBeNull();

    const done = last;
    expect(done.model).toBe('gpt-4o-mini');
    for (const field of ['in_progress_at', 'finalizing_at', 'completed_at'] as const)
      expect(done[field]).toBeTypeOf('number');
    for (const field of ['failed_at', 'expired_at', 'cancelling_at', 'cancelled_at'] as const)
      expect(done[field]).toBeNull();
    expect(done.created_at).toBeLessThanOrEqual(done.in_progress_at!);
    expect(done.in_progress_at!).toBeLessThanOrEqual(done.finalizing_at!);
    expect(done.finalizing_at!).toBeLessThanOrEqual(done.completed_at!);
    expect(done.errors).toBeNull();
    expect(done.error_file_id).toBeNull();
    expect(done.metadata).toEqual({ job_id: 'job-1', round: '0', chunk: '0', idempotency_key: 'job-1/r0/c0' });

    const output = await fx.client.files.retrieve(done.output_file_id!);
    expect(output).toMatchObject({ purpose: 'batch_output', filename: `${done.id}_output.jsonl` });
    expect(validateSchema('OpenAIFile', output)).toEqual([]);
    const lines = await readJsonl<{
      id: string;
      custom_id: string;
      response: { status_code: number; request_id: string; body: Record<string, unknown> };
      error: null;
    }>(fx.client, output.id);
    expect(lines.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `r-${i}`).sort());
    let prompt = 0;
    let completion = 0;
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['id', 'custom_id', 'response', 'error']);
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.error).toBeNull();
      expect(line.response.status_code).toBe(200);
      expect(line.response.request_id).toMatch(/^req_/);
      expect(validateSchema('BatchRequestOutput', line, { spec: SPEC_2025_06 })).toEqual([]);
      expect(validateSchema('CreateChatCompletionResponse', line.response.body)).toEqual([]);
      const usage = line.response.body.usage as { prompt_tokens: number; completion_tokens: number };
      prompt += usage.prompt_tokens;
      completion += usage.completion_tokens;
    }
    // Batch usage is the sum of the rows' usage.
    expect(done.usage).toMatchObject({
      input_tokens: prompt,
      output_tokens: completion,
      total_tokens: prompt + completion,
    });
    expect(fx.emulator.stats().batchesByIdempotencyKey['job-1/r0/c0']).toBe(1);
  });

  it('for await over batches.list pages through every batch newest first, with first_id/last_id/has_more', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await createChatBatch(1, { job_id: 'list-job', round: '1', chunk: String(i) })).id);
    const listed: string[] = [];
    for await (const b of fx.client.batches.list({ limit: 2 })) listed.push(b.id);
    expect(listed.slice(0, 5)).toEqual([...ids].reverse());
    const raw = (await (await fx.client.batches.list({ limit: 2 }).asResponse()).json()) as Record<string, unknown>;
    expect(validateSchema('ListBatchesResponse', raw)).toEqual([]);
    expect(raw).toMatchObject({ object: 'list', first_id: ids[4], last_id: ids[3], has_more: true });
    const byCombo = fx.emulator.stats({ metadataKeys: ['job_id', 'round', 'chunk'] }).batchesByMetadata;
    for (let i = 0; i < 5; i++) expect(byCombo[`list-job/1/${i}`]).toBe(1);
    await expect(fx.client.batches.list({ limit: 101 })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('creating a batch on a missing file is a 404 and on a file of the wrong purpose a 400', async () => {
    const missing = await fx.client.batches
      .create({ input_file_id: 'file-doesnotexist', endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).param).toBe('input_file_id');
    const other = await fx.client.files.create({
      file: await toFile(Buffer.from('{}'), 'x.jsonl'),
      purpose: 'user_data',
    });
    const wrong = await fx.client.batches
      .create({ input_file_id: other.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(BadRequestError);
    expect((wrong as BadRequestError).param).toBe('input_file_id');
  });

  it('metadata beyond 16 pairs, 64-character keys or 512-character values is refused, as are a bad endpoint and window', async () => {
    const file = await uploadBatchFile(fx.client, await fx.writeJsonl('meta.jsonl', [chatLine('m')]));
    const base = {
      input_file_id: file.id,
      endpoint: '/v1/chat/completions' as const,
      completion_window: '24h' as const,
    };
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, metadata: tooMany }, 'metadata'],
      [{ ...base, metadata: { ['k'.repeat(65)]: 'v' } }, 'metadata'],
      [{ ...base, metadata: { k: 'v'.repeat(513) } }, 'metadata.k'],
      [{ ...base, endpoint: '/v1/nope' }, 'endpoint'],
      [{ ...base, completion_window: '48h' }, 'completion_window'],
      [{ ...base, output_expires_after: { anchor: 'created_at', seconds: 10 } }, 'output_expires_after.seconds'],
      [{ endpoint: base.endpoint, completion_window: '24h' }, 'input_file_id'],
    ];
    for (const [body, param] of cases) {
      const err = await fx.client.batches.create(body as never).catch((e: unknown) => e);
      expect(err, param).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).param).toBe(param);
      expect(validateSchema('Error', (err as BadRequestError).error)).toEqual([]);
    }
    const ok = await fx.client.batches.create({
      ...base,
      metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, 'x'), 'v'.repeat(512)])),
    });
    expect(Object.keys(ok.metadata!)).toHaveLength(16);
  });

  it('an unknown batch id is a 404, and a completed batch cannot be cancelled', async () => {
    await expect(fx.client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.client.batches.cancel('batch_nope')).rejects.toBeInstanceOf(NotFoundError);
    const b = await createChatBatch(2);
    await waitForStatus(fx.client, b.id, ['completed']);
    await expect(fx.client.batches.cancel(b.id)).rejects.toBeInstanceOf(ConflictError);
  });
});
