// `uploadChunk` run in the SDK's activity environment against the real emulator. Node's fetch
// keeps a copy of a streamed request body while the request runs unless the request refuses
// redirects (nodejs/undici#4058: the redirect clone tees the stream), so every streamed upload
// request must be sent with `redirect: 'error'`; the memory it saves is measured by the
// worker-rss bench.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUploadChunkActivities, type UploadChunkInput } from '../../activities/upload-chunk.ts';
import { openStorage } from '../../src/storage/index.ts';
import { startEmulator } from '../../src/tools/emulator/index.ts';

describe('uploadChunk', () => {
  let dir: string;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let chunkUri: string;
  let size: number;
  /** Each request's path and redirect mode, for requests that carried a body. */
  const sent: { path: string; redirect: string | undefined }[] = [];
  let openai: OpenAI;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-streamed-body-'));
    emulator = await startEmulator({ port: 0, stateDir: join(dir, 'emulator'), config: { rowsPerSecond: 1 } });
    const lines = Array.from({ length: 200 }, (_, n) =>
      JSON.stringify({
        custom_id: `row-${n}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `review ${n}` }] },
      }),
    );
    const text = lines.join('\n') + '\n';
    size = Buffer.byteLength(text);
    await mkdir(join(dir, 'store', 'job'), { recursive: true });
    await writeFile(join(dir, 'store', 'job', 'chunk.jsonl'), text);
    chunkUri = openStorage(join(dir, 'store')).jobUri('job', 'chunk.jsonl');
    openai = new OpenAI({
      baseURL: emulator.baseURL,
      apiKey: 'sk-test-not-a-secret',
      maxRetries: 0,
      fetch: async (url, init) => {
        if (init?.body) {
          const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
          sent.push({ path: new URL(href).pathname, redirect: init.redirect });
        }
        return await fetch(url, init);
      },
    });
  });
  afterAll(async () => {
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['in one files.create', Number.MAX_SAFE_INTEGER, '/v1/files'],
    ['in parts through the Uploads API', 4096, '/parts'],
  ])('streams a chunk %s without letting fetch keep a copy of the body', async (_, partBytes, path) => {
    sent.length = 0;
    const activities = createUploadChunkActivities(
      () => openai,
      openStorage(join(dir, 'store')),
      () => undefined,
      Math.min(partBytes, 64 * 1024 * 1024),
    );
    const upload = (input: UploadChunkInput): Promise<{ bytes: number }> => activities.uploadChunk(input);
    const file = await new MockActivityEnvironment().run<[UploadChunkInput], { bytes: number }, typeof upload>(upload, {
      chunkUri,
      filename: `c-${partBytes}.jsonl`,
    });
    expect(file.bytes).toBe(size);
    const streamed = sent.filter((r) => r.path.endsWith(path));
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.map((r) => r.redirect)).toEqual(streamed.map(() => 'error'));
  });
});
