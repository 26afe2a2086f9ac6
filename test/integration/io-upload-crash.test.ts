// A worker SIGKILLed in the middle of a parted upload, once Temporal holds the upload's progress:
// the next worker resumes the same upload (no second upload, no files.create) and leaves no file or
// pending upload that no batch uses.
//
// The kill comes from the test, once the server has recorded a heartbeat of the upload. A crash
// point inside the activity fired right after a heartbeat() call, which only queues the heartbeat:
// under load the process died before it reached the server, and the retry, knowing no upload id,
// rightly started a new upload (a CI failure: 2 uploads.create). OpenAI lists no uploads, so a kill
// before the first heartbeat lands cannot be resumed; that upload expires unused after its hour.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { pendingUploadIds } from '../../src/tools/emulator/routes/uploads.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import { until } from '../support/until.ts';

const PART_BYTES = 4096;

function spawnUploadWorker(env: JobEnv): {
  exited: Promise<NodeJS.Signals | null>;
  output: () => string;
  stop: () => void;
  kill: () => void;
} {
  const script = fileURLToPath(new URL('./io-upload-worker.ts', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      TEMPORAL_ADDRESS: devServer().address,
      TEMPORAL_NAMESPACE: devServer().namespace,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
      OPENAI_BASE_URL: env.emulator.baseURL,
      OPENAI_API_KEY: 'sk-test-not-a-secret',
      UPLOAD_PART_BYTES: String(PART_BYTES),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  return {
    exited,
    output: () => out,
    stop: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGTERM')),
    kill: () => void child.kill('SIGKILL'),
  };
}

describe('a worker killed in the middle of a parted upload', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Each part takes a while, so that the upload is still going when the test kills the worker.
    env = await startJobEnv('io-upload-crash', { faults: { 'uploads.parts.create': { latencyMs: 200 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('killed during the upload: the next worker resumes the same upload and no file or upload is left unreferenced', async () => {
    const jobId = `io-upload-crash-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'crash.jsonl' });
    const doomed = spawnUploadWorker(env);
    const next = { current: undefined as ReturnType<typeof spawnUploadWorker> | undefined };
    try {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
      await until(
        'a heartbeat of the upload on the server, and a part at OpenAI',
        async () => {
          const pending = (await chunk.describe().catch(() => undefined))?.raw.pendingActivities ?? [];
          const upload = pending.find((a) => a.activityType?.name === 'uploadChunk');
          const parts = env.emulator.stats().callsPerRoute['uploads.parts.create'] ?? 0;
          return upload?.lastHeartbeatTime != null && parts >= 1;
        },
        60_000,
        20,
      );
      doomed.kill();
      expect(await doomed.exited, doomed.output()).toBe('SIGKILL');
      const afterCrash = env.emulator.stats();
      // Killed after OpenAI had at least one part of the upload.
      expect(afterCrash.callsPerRoute['uploads.create']).toBe(1);
      expect(afterCrash.callsPerRoute['uploads.parts.create']).toBeGreaterThanOrEqual(1);
      // ...and before it was complete: the next worker has an upload to resume.
      expect(afterCrash.callsPerRoute['uploads.complete'] ?? 0).toBe(0);
      next.current = spawnUploadWorker(env);
      const summary = await handle.result();
      expect(summary.status).toBe('completed');
      const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
      expect(tally(rows).statuses).toEqual({ succeeded: 200 });
    } finally {
      doomed.stop();
      next.current?.stop();
    }
    const stats = env.emulator.stats();
    console.log('crash figures', JSON.stringify({ calls: stats.callsPerRoute, bytesUploaded: stats.bytesUploaded }));
    // The retry went on with the upload the killed worker had started.
    expect(stats.callsPerRoute['uploads.create']).toBe(1);
    expect(stats.callsPerRoute['uploads.complete']).toBe(1);
    expect(stats.callsPerRoute['files.create'] ?? 0).toBe(0);
    const client = new OpenAI({ apiKey: 'sk-test-not-a-secret', baseURL: env.emulator.baseURL, maxRetries: 0 });
    const referenced = new Set<string>();
    for await (const b of client.batches.list())
      for (const id of [b.input_file_id, b.output_file_id, b.error_file_id]) if (id) referenced.add(id);
    const orphans: string[] = [];
    for await (const f of client.files.list()) if (!referenced.has(f.id)) orphans.push(`${f.id} ${f.filename}`);
    expect(orphans).toEqual([]);
    expect(await pendingUploadIds(join(env.dir, 'emulator'))).toEqual([]);
  });
});
