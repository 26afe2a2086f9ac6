// A chunk's window of batches takes longer to list than the create's send window: each attempt
// resumes the listing where the previous one got (a cursor in its heartbeat details), so the
// create is sent in the end instead of being retried forever.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { startEmulator } from '../../src/tools/emulator/index.ts';
import type { BatchRecord } from '../../src/tools/emulator/state/records.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { FAST_WAIT, readJsonlFile, tally, writeChatInput } from '../support/job-env.ts';
import { connectToDevServer, devServer, uniqueTaskQueue } from '../support/temporal.ts';

const OTHER_BATCHES = 250;

/** A failed batch of some other job, created `ageMs` ago: what a busy organization's list is full of. */
function otherBatch(i: number, ageMs: number): BatchRecord {
  const createdAtMs = Date.now() - ageMs;
  return {
    id: `batch_other${String(i).padStart(6, '0')}`,
    seq: i + 1,
    createdAtMs,
    endpoint: '/v1/chat/completions',
    input_file_id: 'file-gone',
    completion_window: '24h',
    metadata: { job_id: 'someone-else', idempotency_key: `someone-else:${i}` },
    output_expires_after: null,
    plan: {
      validatingMs: 0,
      finalizingMs: 0,
      cancellingMs: 0,
      windowMs: 86_400_000,
      rowsPerSecond: null,
      rowErrors: {},
      seed: 1,
    },
    validation: {
      ok: false,
      doneAtMs: createdAtMs,
      errors: [{ code: 'empty_file', message: 'The input file is empty.', param: null, line: null }],
    },
    cancelRequestedAtMs: null,
    final: null,
  };
}

describe('a search that outlasts the send window', () => {
  let dir: string;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let conn: Awaited<ReturnType<typeof connectToDevServer>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'job-create-resume-'));
    // Other jobs' batches from the last two minutes: all inside the chunk's search window, three
    // pages of 100, each page answered after 1 s.
    await mkdir(join(dir, 'emulator', 'batches'), { recursive: true });
    for (let i = 0; i < OTHER_BATCHES; i++) {
      const record = otherBatch(i, 10_000 + (OTHER_BATCHES - i) * 500);
      await writeFile(join(dir, 'emulator', 'batches', `${record.id}.json`), JSON.stringify(record));
    }
    emulator = await startEmulator({
      port: 0,
      stateDir: join(dir, 'emulator'),
      config: {
        rowsPerSecond: 'instant',
        validatingSeconds: 0.2,
        finalizingSeconds: 0.2,
        cancellingSeconds: 0.2,
        faults: { 'batches.list': { latencyMs: 1_000 } },
      },
    });
    conn = await connectToDevServer();
  });
  afterAll(async () => {
    await conn?.close();
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('each attempt resumes the listing where the last one got, and the batch is created once', async () => {
    expect(emulator.stats().batchesCreated).toBe(OTHER_BATCHES);
    const storageRoot = pathToFileURL(join(dir, 'storage')).href;
    const taskQueue = uniqueTaskQueue('create-resume');
    const jobId = `create-resume-${Date.now()}`;
    const inputUri = await writeChatInput({ dir }, 20, { file: 'resume.jsonl' });
    const worker = await Worker.create({
      connection: conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue,
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot,
          openaiBaseUrl: emulator.baseURL,
          openaiApiKey: 'sk-test-not-a-secret',
          // Three pages take 3 s; an attempt may send its create only within 2 s of its start.
          createBatchTiming: { sendWindowMs: 2_000, requestTimeoutMs: 1_500, landingGraceMs: 500 },
        }),
      ],
    });
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue },
      );
      // A create retried forever never settles: bound the wait so the test can say so.
      const settled = handle.result().then(
        (summary) => summary,
        (err: unknown) => err,
      );
      const result = await Promise.race([
        settled,
        new Promise((r) => setTimeout(() => r('no batch after 90 s'), 90_000)),
      ]);
      if (typeof result === 'string') await handle.terminate('test bound');
      return result;
    });
    expect(outcome).toHaveProperty('status', 'completed');
    const summary = outcome as { resultsUri: string };
    const stats = emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(20);
    expect(statuses).toEqual({ succeeded: 20 });
  }, 150_000);
});
