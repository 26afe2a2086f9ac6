// A cancel that lands while the job finalizes: finalize runs once and report.json agrees with how
// the job ended.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker, scheduledActivities, untilCancelHandled } from '../support/activity-gate.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('cancel during finalize', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('finalize-cancel');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a cancel during finalize: finalize runs once and report.json says how the job ended', async () => {
    const jobId = `finalize-cancel-${Date.now()}`;
    const inputUri = await writeChatInput(env, 50, { file: 'finalize-cancel.jsonl' });
    const finalize = new ActivityGate('finalizeJob');
    const worker = await gatedWorker(env, finalize);
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await finalize.entered;
      await handle.cancel();
      await untilCancelHandled(env.conn.client, handle);
      finalize.release();
      return await handle.result().then(
        (summary) => summary.status,
        (err: unknown) => err,
      );
    });
    expect(await scheduledActivities(env.conn.client, jobId, 'finalizeJob')).toBe(1);
    const ended =
      outcome instanceof WorkflowFailedError && outcome.cause instanceof CancelledFailure ? 'cancelled' : outcome;
    const report = JSON.parse(
      await readFile(fileURLToPath(openStorage(env.storageRoot).jobUri(jobId, 'report.json')), 'utf8'),
    ) as { status: string };
    expect(report.status).toBe(ended);
    expect(['completed', 'cancelled']).toContain(ended);
  });
});
