import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a chunk cancelled after its upload, before any batch', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // The search before the create is held 8 s (longer than the heartbeat throttle that delivers a cancel), so the cancel lands after the upload, before a create is sent.
    env = await startJobEnv('cancel-unsubmitted-file', {
      rowsPerSecond: 50,
      faults: { 'batches.list': { latencyMs: 8_000 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('deletes its input file at OpenAI: no file is left that no batch uses', async () => {
    const jobId = `cancel-unsubmitted-file-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'cancel-unsubmitted-file.jsonl' });
    const filename = `${jobId}_r1_c0.jsonl`;
    const listsBefore = env.emulator.stats().callsPerRoute['batches.list'] ?? 0;
    const worker = await env.createWorker();
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 200 }, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until(
        'createBatch to search for the key',
        () => Promise.resolve((env.emulator.stats().callsPerRoute['batches.list'] ?? 0) > listsBefore),
        120_000,
        20,
      );
      expect(env.emulator.inventory().files.filter((f) => f.filename === filename)).toHaveLength(1);
      await handle.cancel();
      return await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const inventory = env.emulator.inventory();
    expect(inventory.batches.filter((b) => b.metadata?.['job_id'] === jobId)).toEqual([]);
    expect(
      inventory.files.filter((f) => f.filename === filename),
      'input files left at OpenAI',
    ).toEqual([]);
  });
});
