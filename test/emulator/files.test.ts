import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { chatLine, openEmulator, readJsonl, sdkClient, type EmulatorFixture } from './support/emulator-fixture.ts';
import { validateSchema } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator();
});
afterAll(async () => fx?.close());

describe('files', () => {
  it('an upload streamed from an fs stream is stored byte for byte and read back as a stream', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => chatLine(`row-${i}`));
    const path = await fx.writeJsonl('stream.jsonl', lines);
    const file = await fx.client.files.create({ file: createReadStream(path), purpose: 'batch' });
    expect(validateSchema('OpenAIFile', file)).toEqual([]);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'stream.jsonl', status: 'processed' });
    const back = await readJsonl(fx.client, file.id);
    expect(back).toEqual(lines);
    // purpose=batch files expire after 30 days by default.
    expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
  });

  it('an upload through toFile keeps its name, size and expires_after', async () => {
    const body = Buffer.from(JSON.stringify(chatLine('a')) + '\n');
    const file = await fx.client.files.create({
      file: await toFile(body, 'named.jsonl'),
      purpose: 'batch',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    expect(file.bytes).toBe(body.length);
    expect(file.filename).toBe('named.jsonl');
    expect(file.expires_at).toBe(file.created_at + 3600);
    const retrieved = await fx.client.files.retrieve(file.id);
    expect(retrieved).toEqual(file);
    expect(validateSchema('OpenAIFile', retrieved)).toEqual([]);
  });

  it('for await over files.list pages through every file, newest first, filtered by purpose', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const f = await fx.client.files.create({
        file: await toFile(Buffer.from('x'), `page-${i}.txt`),
        purpose: 'user_data',
      });
      ids.push(f.id);
    }
    const seen: string[] = [];
    for await (const f of fx.client.files.list({ purpose: 'user_data', limit: 3 })) seen.push(f.id);
    expect(seen).toEqual([...ids].reverse());
    const asc: string[] = [];
    for await (const f of fx.client.files.list({ purpose: 'user_data', limit: 2, order: 'asc' })) asc.push(f.id);
    expect(asc).toEqual(ids);
    const page = await fx.client.files.list({ purpose: 'user_data', limit: 3 });
    expect(page.has_more).toBe(true);
    const raw = await fx.client.files.list({ purpose: 'user_data', limit: 3 }).asResponse();
    const json = (await raw.json()) as Record<string, unknown>;
    expect(validateSchema('ListFilesResponse', json)).toEqual([]);
    expect(json).toMatchObject({ object: 'list', first_id: ids[6], last_id: ids[4], has_more: true });
  });

  it('delete removes the file: later reads are 404s shaped like OpenAI', async () => {
    const f = await fx.client.files.create({
      file: await toFile(Buffer.from('gone'), 'gone.txt'),
      purpose: 'user_data',
    });
    const deleted = await fx.client.files.delete(f.id);
    expect(deleted).toEqual({ id: f.id, object: 'file', deleted: true });
    expect(validateSchema('DeleteFileResponse', deleted)).toEqual([]);
    const err = await fx.client.files.retrieve(f.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(
      validateSchema(
        'ErrorResponse',
        (err as NotFoundError).error === undefined ? {} : { error: (err as NotFoundError).error },
      ),
    ).toEqual([]);
    await expect(fx.client.files.content(f.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.client.files.delete(f.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('uploads without a purpose, with an unknown purpose, a non-.jsonl batch file or a bad expires_after are 400s', async () => {
    const f = () => toFile(Buffer.from('{}\n'), 'x.jsonl');
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        'unknown purpose',
        async () => fx.client.files.create({ file: await f(), purpose: 'nope' as 'batch' }),
        'purpose',
      ],
      [
        'batch file not .jsonl',
        async () => fx.client.files.create({ file: await toFile(Buffer.from('{}'), 'x.txt'), purpose: 'batch' }),
        'file',
      ],
      [
        'expires_after too short',
        async () =>
          fx.client.files.create({
            file: await f(),
            purpose: 'batch',
            expires_after: { anchor: 'created_at', seconds: 60 },
          }),
        'expires_after.seconds',
      ],
      [
        'missing purpose',
        async () => fx.client.files.create({ file: await f() } as unknown as OpenAI.FileCreateParams),
        'purpose',
      ],
    ];
    for (const [name, call, param] of cases) {
      const err = await call().catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).param, name).toBe(param);
      expect(validateSchema('Error', (err as BadRequestError).error)).toEqual([]);
    }
  });

  it('a missing or empty API key gets a 401 with an OpenAI error body', async () => {
    const noKey = new OpenAI({
      baseURL: fx.emulator.baseURL,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    const err = await noKey.files.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);
    expect((err as AuthenticationError).message).toContain("You didn't provide an API key");
    const empty = new OpenAI({
      baseURL: fx.emulator.baseURL,
      apiKey: 'x',
      maxRetries: 0,
      defaultHeaders: { authorization: 'Bearer ' },
    });
    await expect(empty.batches.list()).rejects.toBeInstanceOf(AuthenticationError);
    // A working key still works after that.
    await expect(sdkClient(fx.emulator.baseURL).files.list()).resolves.toBeDefined();
  });

  it('the control stats count uploads, bytes and calls per route', () => {
    const stats = fx.emulator.stats();
    expect(stats.filesUploaded).toBeGreaterThanOrEqual(10);
    expect(stats.bytesUploaded).toBeGreaterThan(0);
    expect(stats.callsPerRoute['files.create']).toBeGreaterThanOrEqual(10);
    expect(stats.callsPerRoute['files.list']).toBeGreaterThan(0);
  });
});
