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

const OTHER_BATCHES = 500;

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

describe('the adopt scan in a busy organization', () => {
  let dir: string;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let conn: Awaited<ReturnType<typeof connectToDevServer>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'job-create-scan-'));
    // Other jobs' batches, created seven minutes ago: after the job's start less the old ten-minute
    // margin, but well before this chunk's first create.
    await mkdir(join(dir, 'emulator', 'batches'), { recursive: true });
    for (let i = 0; i < OTHER_BATCHES; i++) {
      const record = otherBatch(i, 7 * 60_000);
      await writeFile(join(dir, 'emulator', 'batches', `${record.id}.json`), JSON.stringify(record));
    }
    emulator = await startEmulator({
      port: 0,
      stateDir: join(dir, 'emulator'),
      config: { rowsPerSecond: 'instant', validatingSeconds: 0.2, finalizingSeconds: 0.2, cancellingSeconds: 0.2 },
    });
    conn = await connectToDevServer();
  });
  afterAll(async () => {
    await conn?.close();
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("each create lists one page, stopping at the chunk's first create time, not at the job's start", async () => {
    expect(emulator.stats().batchesCreated).toBe(OTHER_BATCHES);
    const before = emulator.stats().callsPerRoute['batches.list'] ?? 0;
    const storageRoot = pathToFileURL(join(dir, 'storage')).href;
    const taskQueue = uniqueTaskQueue('create-scan');
    const jobId = `create-scan-${Date.now()}`;
    const inputUri = await writeChatInput({ dir }, 50, { file: 'scan.jsonl' });
    const worker = await Worker.create({
      connection: conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue,
      plugins: [
        new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: emulator.baseURL, openaiApiKey: 'sk-test-not-a-secret' }),
      ],
    });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 }, wait: FAST_WAIT },
        { taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    const stats = emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    const listPages = (stats.callsPerRoute['batches.list'] ?? 0) - before;
    // One page for the search before the create and at most one for the check after it; walking
    // back to the job's start would read all five pages (100 each) of the other batches.
    expect(listPages, `batches.list pages read for one chunk`).toBeLessThanOrEqual(2);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(50);
    expect(statuses).toEqual({ succeeded: 50 });
  });
});
