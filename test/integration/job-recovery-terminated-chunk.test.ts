// A chunk workflow terminated by an operator: the job cancels its batch, waits for it to end, and
// keeps the rows the batch finished (they are billed).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

interface Row {
  custom_id: string;
  status: string;
  error: { code: string } | null;
}

describe('recovery of a terminated chunk', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('recovery', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function completedAtOpenAI(jobId: string): Promise<number> {
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    let completed = 0;
    for await (const batch of openai.batches.list({ limit: 100 })) {
      if (batch.metadata?.['job_id'] === jobId) completed += batch.request_counts?.completed ?? 0;
    }
    return completed;
  }

  it('terminated mid-batch: its batch is cancelled and the rows it finished are kept as succeeded', async () => {
    const jobId = `recovery-mid-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'recovery-mid.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until(
        'the batch to have rows done',
        async () => (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.done > 2) ?? false,
      );
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      return await handle.result();
    });
    const rows = await readJsonlFile<Row>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBe(1);
    const completed = await completedAtOpenAI(jobId);
    expect(completed).toBeGreaterThan(0);
    expect(statuses['succeeded']).toBe(completed);
    expect((statuses['succeeded'] ?? 0) + (statuses['cancelled'] ?? 0)).toBe(100);
  });

  it('terminated while collecting a completed batch: its good records are not overwritten with failures', async () => {
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    const jobId = `recovery-collect-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'recovery-collect.jsonl' });
    const collect = new ActivityGate('collectChunk', (input) => input['end'] === 'completed');
    const worker = await gatedWorker(env, collect);
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await collect.entered;
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      collect.release();
      return await handle.result();
    });
    const rows = await readJsonlFile<Row>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect(statuses).toEqual({ succeeded: 100 });
  });
});
