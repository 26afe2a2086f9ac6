// A retried upload resumes where the failed attempt stopped, and no attempt leaves a file (or a
// pending upload) at OpenAI that no batch uses. Real dev server, real emulator, in-process worker.
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchActivities } from '../../activities/create-batch-activities.ts';
import { createUploadChunkActivities, type UploadChunkInput } from '../../activities/upload-chunk.ts';
import { createOpenAIClient } from '../../src/openai/client.ts';
import { openStorage } from '../../src/storage/index.ts';
import type { CrashPoint } from '../../activities/crash-point.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { pendingUploadIds } from '../../src/tools/emulator/routes/uploads.ts';
import { workflowsPath } from '../../src/plugin.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import { until } from '../support/until.ts';

const PART_BYTES = 4096;

/** Every file at the emulator, and which of them no batch references (as input, output or errors). */
async function unreferencedFiles(env: JobEnv): Promise<{ files: OpenAI.Files.FileObject[]; orphans: string[] }> {
  const client = new OpenAI({ apiKey: 'sk-test-not-a-secret', baseURL: env.emulator.baseURL, maxRetries: 0 });
  const files: OpenAI.Files.FileObject[] = [];
  for await (const f of client.files.list()) files.push(f);
  const referenced = new Set<string>();
  for await (const b of client.batches.list({ limit: 100 })) {
    for (const id of [b.input_file_id, b.output_file_id, b.error_file_id]) if (id) referenced.add(id);
  }
  return { files, orphans: files.filter((f) => !referenced.has(f.id)).map((f) => `${f.id} ${f.filename}`) };
}

describe('uploads that fail part-way', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('io-upload');
  });
  afterAll(async () => {
    await env?.close();
  });

  function worker(crashHook?: (point: CrashPoint) => void): Promise<Worker> {
    return Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: env.taskQueue,
      workflowsPath,
      activities: createBatchActivities({
        storageRoot: env.storageRoot,
        openaiBaseUrl: env.emulator.baseURL,
        openaiApiKey: 'sk-test-not-a-secret',
        apiKeyConfigured: true,
        uploadPartBytes: PART_BYTES,
        crashHook,
      }),
    });
  }

  it('an upload attempt that fails after 4 parts is resumed by the retry on the same upload, sending only the missing parts', async () => {
    const jobId = `io-upload-resume-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'resume.jsonl' });
    let reached = 0;
    // The attempt dies in the middle of its 5th part (the hook runs once per piece of parts 2 and on).
    const w = await worker((point) => {
      if (point === 'during-upload' && ++reached === 4)
        throw new Error('test: the worker lost its connection mid-upload');
    });
    const before = env.emulator.stats();
    const summary = await w.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).statuses).toEqual({ succeeded: 200 });

    const stats = env.emulator.stats();
    const calls = (route: string): number => (stats.callsPerRoute[route] ?? 0) - (before.callsPerRoute[route] ?? 0);
    const { files, orphans } = await unreferencedFiles(env);
    const input = files.find((f) => f.filename.startsWith(jobId));
    expect(input).toBeDefined();
    const partsNeeded = Math.ceil(input!.bytes / PART_BYTES);
    console.log(
      'resume figures',
      JSON.stringify({
        bytes: input!.bytes,
        partsNeeded,
        calls: stats.callsPerRoute,
        bytesUploaded: stats.bytesUploaded - before.bytesUploaded,
      }),
    );
    expect(partsNeeded).toBeGreaterThan(5);
    // One upload, resumed: the retry did not start a second one, nor fall back to files.create.
    expect(calls('uploads.create')).toBe(1);
    expect(calls('files.create')).toBe(0);
    expect(calls('uploads.complete')).toBe(1);
    // The 4 parts OpenAI had were not sent again: every part arrived once, plus the one cut off.
    expect(calls('uploads.parts.create')).toBe(partsNeeded + 1);
    expect(stats.bytesUploaded - before.bytesUploaded).toBe(input!.bytes);
    expect(reached).toBeGreaterThanOrEqual(4);
    expect(orphans).toEqual([]);
    expect(await pendingUploadIds(join(env.dir, 'emulator'))).toEqual([]);
  });

  it('a files.create whose answer was lost is reused by the retry: no second file, none left unreferenced', async () => {
    const jobId = `io-upload-lost-${Date.now()}`;
    const inputUri = await writeChatInput(env, 5, { file: 'lost.jsonl' });
    const before = env.emulator.stats();
    // Carried out, answer lost, until the first such call has happened.
    env.emulator.setConfig({ faults: { 'files.create': { dropAfterHandling: 1 } } });
    const w = await worker();
    const summary = await w.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until('the first files.create', () =>
        Promise.resolve(
          (env.emulator.stats().callsPerRoute['files.create'] ?? 0) > (before.callsPerRoute['files.create'] ?? 0),
        ),
      );
      env.emulator.setConfig({ faults: { 'files.create': null } });
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    const { files, orphans } = await unreferencedFiles(env);
    expect(files.filter((f) => f.filename.startsWith(jobId))).toHaveLength(1);
    expect(orphans).toEqual([]);
    expect(
      (env.emulator.stats().callsPerRoute['files.create'] ?? 0) - (before.callsPerRoute['files.create'] ?? 0),
    ).toBe(1);
  });

  describe("one attempt at a time, in Temporal's activity environment", () => {
    const client = (): OpenAI => createOpenAIClient({ apiKey: 'sk-test-not-a-secret', baseURL: env.emulator.baseURL });
    async function chunkFile(name: string, rows: number): Promise<{ uri: string; bytes: number }> {
      const uri = await writeChatInput(env, rows, { file: name });
      return { uri, bytes: await openStorage(env.storageRoot).size(uri) };
    }
    const upload = (activity: ReturnType<typeof createUploadChunkActivities>) => (input: UploadChunkInput) =>
      activity.uploadChunk(input);

    it('a retry whose recorded upload OpenAI no longer accepts cancels it and uploads afresh', async () => {
      const storage = openStorage(env.storageRoot);
      const { uri, bytes } = await chunkFile('refused.jsonl', 40);
      const sdk = client();
      const old = await sdk.uploads.create({
        bytes,
        filename: 'refused-chunk.jsonl',
        mime_type: 'application/jsonl',
        purpose: 'batch',
      });
      await sdk.uploads.cancel(old.id);
      const activity = createUploadChunkActivities(client, storage, () => undefined, PART_BYTES);
      const envA = new MockActivityEnvironment({
        attempt: 2,
        heartbeatDetails: { uploadId: old.id, partIds: [], bytesDone: 0 },
        heartbeatTimeoutMs: 5_000,
      });
      const result: { fileId: string; bytes: number } = await envA.run(upload(activity), {
        chunkUri: uri,
        filename: 'refused-chunk.jsonl',
      });
      expect(result.bytes).toBe(bytes);
      expect((await sdk.files.retrieve(result.fileId)).filename).toBe('refused-chunk.jsonl');
      expect(await pendingUploadIds(join(env.dir, 'emulator'))).toEqual([]);
    });

    it('a cancelled parted upload leaves no pending upload behind', async () => {
      const storage = openStorage(env.storageRoot);
      const { uri } = await chunkFile('cancelled.jsonl', 60);
      const before = await pendingUploadIds(join(env.dir, 'emulator'));
      const activity = createUploadChunkActivities(client, storage, () => undefined, PART_BYTES);
      const envA = new MockActivityEnvironment({ heartbeatTimeoutMs: 5_000 });
      let heartbeats = 0;
      envA.on('heartbeat', (details: unknown) => {
        if ((details as { partIds?: unknown[] } | undefined)?.partIds?.length === 2 && ++heartbeats === 1)
          envA.cancel();
      });
      await expect(envA.run(upload(activity), { chunkUri: uri, filename: 'cancelled-chunk.jsonl' })).rejects.toThrow();
      expect(heartbeats).toBe(1);
      expect(await pendingUploadIds(join(env.dir, 'emulator'))).toEqual(before);
    });
  });
});
