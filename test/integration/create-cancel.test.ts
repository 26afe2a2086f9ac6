import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

const RUNNING = ['validating', 'in_progress', 'finalizing', 'cancelling'];

describe('a cancel while the batch is being created', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every create is held 4 s before OpenAI handles it, so a cancel lands while it is in flight.
    env = await startJobEnv('create-cancel', { rowsPerSecond: 5, faults: { 'batches.create': { latencyMs: 4_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function cancelWhileCreating(name: string): Promise<void> {
    const jobId = `${name}-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: `${name}.jsonl` });
    const worker = await env.createWorker();
    const createsBefore = env.emulator.stats().callsPerRoute['batches.create'] ?? 0;
    const batchesBefore = env.emulator.stats().batchesCreated;
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 200 }, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      // The create has reached the emulator, which holds it before creating the batch.
      await until(
        'the create to reach the emulator',
        () => Promise.resolve((env.emulator.stats().callsPerRoute['batches.create'] ?? 0) > createsBefore),
        60_000,
        20,
      );
      expect(env.emulator.stats().batchesCreated).toBe(batchesBefore);
      await handle.cancel();
      return await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const storage = openStorage(env.storageRoot);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      storage.jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(100);
    expect(ids.size).toBe(100);
    // The create went through: the chunk found its batch, cancelled it and collected it (no row
    // is `failed / not_submitted`).
    expect(
      Object.keys(statuses).filter((s) => s !== 'cancelled' && s !== 'succeeded'),
      JSON.stringify(statuses),
    ).toEqual([]);
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    const running = Object.entries(stats.batchesByStatus).filter(([status, n]) => RUNNING.includes(status) && n > 0);
    expect(running, 'batches still running after the job ended').toEqual([]);
    // The chunk itself ends cancelled, not failed, whichever way its create ended.
    expect((await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).describe()).status.name).toBe('CANCELLED');
  }

  it('a cancel during a slow create leaves no batch running, and the chunk cancels and reports the batch that create made', async () => {
    await cancelWhileCreating('create-cancel');
  });

  it('a cancel during a slow create whose response is lost: the chunk waits it out, finds the batch and cancels it', async () => {
    env.emulator.setConfig({ faults: { 'batches.create': { latencyMs: 4_000, dropAfterHandling: 1 } } });
    await cancelWhileCreating('create-cancel-lost');
  });
});
