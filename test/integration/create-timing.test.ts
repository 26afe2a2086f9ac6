// The create's windows are worker options: a worker whose SDK timeout is shorter than OpenAI's
// answer gives up on each create.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { until } from '../support/until.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('createBatchTiming, a worker option', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every create is answered after 2.5 s (the default 15 s timeout waits for it).
    env = await startJobEnv('create-timing', { faults: { 'batches.create': { latencyMs: 2_500 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a requestTimeoutMs shorter than OpenAI takes to answer: every attempt gives up on its create (none lands), and a cancel ends the job with no batch', async () => {
    const jobId = `create-timing-${Date.now()}`;
    const inputUri = await writeChatInput(env, 50, { file: 'timing.jsonl' });
    const worker = await env.createWorker({
      createBatchTiming: { sendWindowMs: 1_000, requestTimeoutMs: 1_000, landingGraceMs: 500 },
    });
    const { outcome, lastFailure } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      // With the default 15 s timeout the first create would succeed; with 1 s each one gives up.
      await until('two creates sent', () =>
        Promise.resolve((env.emulator.stats().callsPerRoute['batches.create'] ?? 0) >= 2),
      );
      const chunk = await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).describe();
      const lastFailure = chunk.raw.pendingActivities?.[0]?.lastFailure?.message ?? '';
      await handle.cancel();
      const outcome = await handle.result().then(
        () => 'completed',
        (err: unknown) => err,
      );
      return { outcome, lastFailure };
    });
    expect(lastFailure).toMatch(/batches.create timed out|no batch carries this key/);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // The emulator drops a create whose client went away before it was handled: no batch exists.
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0).toBe(0);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(50);
    expect(statuses).toEqual({ cancelled: 50 });
  });
});
