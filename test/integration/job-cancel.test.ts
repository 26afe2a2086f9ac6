import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { planJob } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

interface ResultLine {
  custom_id: string;
  status: string;
}

describe('cancellation, deadline and budget', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel', { rowsPerSecond: 40 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('cancel during polling: every batch is cancelled, results hold the completed rows, the job ends cancelled', async () => {
    const jobId = `cancel-${Date.now()}`;
    const inputUri = await writeChatInput(env, 900, { file: 'cancel.jsonl' });
    // 30 s a batch: on a loaded machine the third chunk's batch can start seconds after the
    // first, and at 40 rows/s (7.5 s a batch) the first had completed before the cancel (seen in
    // CI: 2 batches cancelled of 3).
    env.emulator.setConfig({ rowsPerSecond: 10 });
    const worker = await env.createWorker();
    const outcome = await worker
      .runUntil(async () => {
        const handle = await startBatchJob(
          env.conn.client,
          { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 300 }, wait: FAST_WAIT },
          { taskQueue: env.taskQueue },
        );
        // Wait until all three batches run and some rows are done.
        for (let i = 0; i < 300; i++) {
          const progress = await getJobProgress(handle).catch(() => undefined);
          if (
            progress &&
            progress.active.length === 3 &&
            progress.active.every((a) => a.phase === 'waiting' && a.done > 0)
          )
            break;
          await new Promise((r) => setTimeout(r, 200));
        }
        await handle.cancel();
        return await handle.result().then(
          () => undefined,
          (err: unknown) => err,
        );
      })
      .finally(() => env.emulator.setConfig({ rowsPerSecond: 40 }));
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(3);
    expect(stats.batchesByStatus['cancelled']).toBe(3);
    const storage = openStorage(env.storageRoot);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, storage.jobUri(jobId, 'results.jsonl'));
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(900);
    expect(rows).toHaveLength(900);
    expect(statuses['succeeded'] ?? 0).toBeGreaterThan(0);
    expect(statuses['cancelled'] ?? 0).toBeGreaterThan(0);
    // Every row OpenAI completed before the cancellation (and billed) is in the results.
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    let completed = 0;
    for await (const batch of openai.batches.list({ limit: 100 })) {
      if (batch.metadata?.['job_id'] === jobId) completed += batch.request_counts?.completed ?? 0;
    }
    expect(statuses['succeeded']).toBe(completed);
    expect(await storage.exists(storage.jobUri(jobId, 'report.json'))).toBe(true);
  });

  it('a deadline cancels the running batches by itself and finalizes what was done', async () => {
    const jobId = `deadline-${Date.now()}`;
    const inputUri = await writeChatInput(env, 600, { file: 'deadline.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 300 },
          deadline: Date.now() + 6_000,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('deadline_exceeded');
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(2);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(600);
    expect(statuses['succeeded'] ?? 0).toBeGreaterThan(0);
    expect(statuses['cancelled'] ?? 0).toBeGreaterThan(0);
  });

  it('maxCostUsd stops submitting chunks that would exceed the budget', async () => {
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    const jobId = `budget-${Date.now()}`;
    const inputUri = await writeChatInput(env, 900, { file: 'budget.jsonl' });
    const estimate = await planJob(
      { jobId: `estimate-${jobId}`, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 300 } },
      openStorage(env.storageRoot),
    );
    const perChunk = estimate.chunks[0]?.estimatedCostUsd ?? 0;
    expect(perChunk).toBeGreaterThan(0);
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 300 },
          maxCostUsd: perChunk * 1.5,
          maxRounds: 1,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.skippedForBudget).toBe(2);
    expect(summary.batchIds).toHaveLength(1);
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId]).toBe(1);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).ids.size).toBe(900);
    expect(tally(rows).statuses['succeeded']).toBe(300);
  });
});
