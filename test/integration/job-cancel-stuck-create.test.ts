// A cancelled job whose chunk is stuck in its create (the chunk waits for the create to settle,
// and it never does): after the grace the job terminates the chunk and recovers it. No batch
// exists, so its rows were never submitted and say so, `cancelled / not_submitted`, as in any
// cancelled job (chaos seed 1 saw them `failed / chunk_ended`), and the input file it uploaded is
// deleted at OpenAI, since no batch uses it (chaos seed 1 later found it left there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

interface Row {
  custom_id: string;
  status: string;
  error: { code: string } | null;
}

describe('a cancelled job whose chunk is stuck in its create', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-stuck-create', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('terminates the chunk after the grace; with no batch at OpenAI its rows are cancelled / not_submitted and its input is deleted', async () => {
    const jobId = `cancel-stuck-create-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: `${jobId}.jsonl` });
    // The create is held (heartbeating) past its cancel: the chunk's cancel path never settles.
    const create = new ActivityGate('createBatch');
    const worker = await gatedWorker(env, create);
    const filename = `${jobId}_r1_c0.jsonl`;
    const result = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await create.entered;
      expect(env.emulator.inventory().files.filter((f) => f.filename === filename)).toHaveLength(1);
      await handle.cancel();
      const settled = await Promise.race([
        handle.result().then(
          () => 'completed',
          () => 'cancelled',
        ),
        new Promise<string>((r) => setTimeout(() => r('still running after 150 s'), 150_000)),
      ]);
      // The held create may go on now: refused, so that no batch appears after the test.
      env.emulator.setConfig({ faults: { 'batches.create': { unauthorized: 1 } } });
      create.release();
      return settled;
    });
    expect(result).toBe('cancelled');
    expect(env.emulator.inventory().batches).toHaveLength(0);
    expect(
      env.emulator.inventory().files.filter((f) => f.filename === filename),
      'input files left at OpenAI',
    ).toEqual([]);
    const rows = await readJsonlFile<Row>(env.storageRoot, openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'));
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect(statuses).toEqual({ cancelled: 100 });
    expect(new Set(rows.map((r) => r.error?.code))).toEqual(new Set(['not_submitted']));
  }, 240_000);
});
