// `createBatch` run in the SDK's activity environment against the real emulator: what it does when
// a key already has batches, including the duplicates a late create can leave.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCreateBatchActivity, type CreateBatchInput } from '../../activities/create-batch.ts';
import { startEmulator } from '../../src/tools/emulator/index.ts';

describe('createBatch with batches already carrying its key', () => {
  let dir: string;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let openai: OpenAI;
  let fileId: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'create-duplicates-'));
    emulator = await startEmulator({ port: 0, stateDir: dir, config: { rowsPerSecond: 1 } });
    openai = new OpenAI({ baseURL: emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    const line = JSON.stringify({
      custom_id: 'a',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    fileId = (
      await openai.files.create({ file: await toFile(Buffer.from(`${line}\n`), 'one.jsonl'), purpose: 'batch' })
    ).id;
  });
  afterAll(async () => {
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const input = (key: string): CreateBatchInput => ({
    jobId: 'job',
    round: 1,
    chunk: 0,
    inputFileId: fileId,
    endpoint: '/v1/chat/completions',
    idempotencyKey: key,
    notBeforeMs: Date.now(),
  });
  const activity = createCreateBatchActivity(
    () => openai,
    () => undefined,
  );
  const createBatch = (i: CreateBatchInput) => activity.createBatch(i);
  const createWithKey = async (key: string) =>
    await openai.batches.create({
      input_file_id: fileId,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { idempotency_key: key },
    });

  it('two batches with the key: adopts the oldest, cancels the other, creates none', async () => {
    const oldest = await createWithKey('k-two');
    const late = await createWithKey('k-two');
    const result = await new MockActivityEnvironment({ attempt: 1 }).run(createBatch, input('k-two'));
    expect(result).toMatchObject({ batchId: oldest.id, adopted: true });
    expect((await openai.batches.retrieve(late.id)).status).toMatch(/^cancell(ing|ed)$/);
    expect((await openai.batches.retrieve(oldest.id)).status).not.toMatch(/^cancell/);
    expect(emulator.stats().batchesByIdempotencyKey['k-two']).toBe(2);
  });

  it('no batch with the key: creates one and answers it as created', async () => {
    const result = await new MockActivityEnvironment({ attempt: 1 }).run(createBatch, input('k-new'));
    expect(result).toMatchObject({ adopted: false });
    expect(emulator.stats().batchesByIdempotencyKey['k-new']).toBe(1);
  });

  it('cancelled before its create is sent: answers null and creates nothing', async () => {
    const env = new MockActivityEnvironment({ attempt: 1 });
    env.cancel();
    const result = await env.run(createBatch, input('k-cancelled'));
    expect(result).toBeNull();
    expect(emulator.stats().batchesByIdempotencyKey['k-cancelled']).toBeUndefined();
  });
});
