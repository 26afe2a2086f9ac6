import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, NotFoundError, toFile } from 'openai';
import { pendingUploadIds } from '../../src/tools/emulator/routes/uploads.ts';
import { chatLine, openEmulator, readJsonl, type EmulatorFixture } from './support/emulator-fixture.ts';
import { validateSchema } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator();
});
afterAll(async () => fx?.close());

function jsonl(count: number, prefix: string): { lines: unknown[]; bytes: Buffer } {
  const lines = Array.from({ length: count }, (_, i) => chatLine(`${prefix}-${i}`));
  return { lines, bytes: Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n') };
}

describe('uploads', () => {
  it('an upload of three parts completes, in the order of its part ids, into a batch file a batch can use', async () => {
    const { lines, bytes } = jsonl(40, 'parts');
    const upload = await fx.client.uploads.create({
      bytes: bytes.length,
      filename: 'parts.jsonl',
      mime_type: 'application/jsonl',
      purpose: 'batch',
      expires_after: { anchor: 'created_at', seconds: 7200 },
    });
    expect(validateSchema('Upload', upload)).toEqual([]);
    expect(upload).toMatchObject({
      object: 'upload',
      status: 'pending',
      bytes: bytes.length,
      filename: 'parts.jsonl',
      purpose: 'batch',
    });
    expect(upload.expires_at).toBe(upload.created_at + 3600);

    const third = Math.ceil(bytes.length / 3);
    const slices = [bytes.subarray(0, third), bytes.subarray(third, 2 * third), bytes.subarray(2 * third)];
    // Added out of order; the completion's order is what counts.
    const parts = [];
    for (const i of [2, 0, 1])
      parts[i] = await fx.client.uploads.parts.create(upload.id, { data: await toFile(slices[i] as Buffer, 'part') });
    for (const part of parts) {
      expect(validateSchema('UploadPart', part)).toEqual([]);
      expect(part).toMatchObject({ object: 'upload.part', upload_id: upload.id });
    }
    const done = await fx.client.uploads.complete(upload.id, { part_ids: parts.map((p) => p.id) });
    expect(validateSchema('Upload', done)).toEqual([]);
    expect(done.status).toBe('completed');
    expect(done.file).toMatchObject({ object: 'file', bytes: bytes.length, filename: 'parts.jsonl', purpose: 'batch' });
    const file = done.file!;
    expect(validateSchema('OpenAIFile', file)).toEqual([]);
    // expires_after applies to the File the upload becomes.
    expect(file.expires_at).toBe(file.created_at + 7200);
    expect(await fx.client.files.retrieve(file.id)).toEqual(file);
    expect(await readJsonl(fx.client, file.id)).toEqual(lines);
    const batch = await fx.client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(batch.status).toBe('validating');
    // Parts may not be added to a completed upload.
    await expect(
      fx.client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('x'), 'part') }),
    ).rejects.toBeInstanceOf(BadRequestError);
    expect(fx.emulator.stats().callsPerRoute['uploads.parts.create']).toBe(4);
  });

  it('completing with parts that do not add up to the declared bytes is refused, and the upload stays pending', async () => {
    const { bytes } = jsonl(5, 'short');
    const upload = await fx.client.uploads.create({
      bytes: bytes.length,
      filename: 'short.jsonl',
      mime_type: 'application/jsonl',
      purpose: 'batch',
    });
    const part = await fx.client.uploads.parts.create(upload.id, { data: await toFile(bytes.subarray(0, 10), 'part') });
    const err = await fx.client.uploads.complete(upload.id, { part_ids: [part.id] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('does not match');
    expect(await pendingUploadIds(fx.stateDir)).toContain(upload.id);
    const rest = await fx.client.uploads.parts.create(upload.id, { data: await toFile(bytes.subarray(10), 'part') });
    const done = await fx.client.uploads.complete(upload.id, { part_ids: [part.id, rest.id] });
    expect(done.file?.bytes).toBe(bytes.length);
    expect(await pendingUploadIds(fx.stateDir)).not.toContain(upload.id);
  });

  it('a cancelled upload takes no more parts and cannot be completed', async () => {
    const upload = await fx.client.uploads.create({
      bytes: 3,
      filename: 'c.jsonl',
      mime_type: 'application/jsonl',
      purpose: 'batch',
    });
    const part = await fx.client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('{}\n'), 'part') });
    const cancelled = await fx.client.uploads.cancel(upload.id);
    expect(validateSchema('Upload', cancelled)).toEqual([]);
    expect(cancelled.status).toBe('cancelled');
    await expect(
      fx.client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from('x'), 'part') }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(fx.client.uploads.complete(upload.id, { part_ids: [part.id] })).rejects.toBeInstanceOf(
      BadRequestError,
    );
    await expect(fx.client.uploads.cancel('upload_missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('create checks its parameters as the spec defines them', async () => {
    const ok = { bytes: 10, filename: 'a.jsonl', mime_type: 'application/jsonl', purpose: 'batch' } as const;
    const refused = async (body: Record<string, unknown>): Promise<BadRequestError> =>
      (await fx.client.uploads
        .create(body as unknown as Parameters<typeof fx.client.uploads.create>[0])
        .catch((e: unknown) => e)) as BadRequestError;
    expect((await refused({ ...ok, filename: undefined })).param).toBe('filename');
    expect((await refused({ ...ok, mime_type: undefined })).param).toBe('mime_type');
    expect((await refused({ ...ok, purpose: 'user_data' })).param).toBe('purpose');
    expect((await refused({ ...ok, bytes: -1 })).param).toBe('bytes');
    expect((await refused({ ...ok, filename: 'a.csv' })).param).toBe('filename');
    expect((await refused({ ...ok, expires_after: { anchor: 'created_at', seconds: 60 } })).param).toBe(
      'expires_after.seconds',
    );
    expect((await refused({ ...ok, colour: 'blue' })).param).toBe('colour');
  });

  it('an upload and its parts survive an emulator restart', async () => {
    const own = await openEmulator();
    const { lines, bytes } = jsonl(6, 'restart');
    const upload = await own.client.uploads.create({
      bytes: bytes.length,
      filename: 'restart.jsonl',
      mime_type: 'application/jsonl',
      purpose: 'batch',
    });
    const first = await own.client.uploads.parts.create(upload.id, {
      data: await toFile(bytes.subarray(0, 50), 'part'),
    });
    const stateDir = own.stateDir;
    await own.emulator.stop();
    const again = await openEmulator(undefined, stateDir);
    try {
      const second = await again.client.uploads.parts.create(upload.id, {
        data: await toFile(bytes.subarray(50), 'part'),
      });
      const done = await again.client.uploads.complete(upload.id, { part_ids: [first.id, second.id] });
      expect(await readJsonl(again.client, done.file!.id)).toEqual(lines);
    } finally {
      await again.close();
      await own.close();
    }
  });
});
