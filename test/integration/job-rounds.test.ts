import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob, type StartJobInput } from '../../src/client/job-client.ts';
import type { JobSummary } from '../../common/job-types.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

interface ResultLine {
  custom_id: string;
  status: string;
  round: number;
  error: { code: string; message: string } | null;
}

async function runJob(env: JobEnv, input: Record<string, unknown>, during?: () => Promise<void>): Promise<JobSummary> {
  const worker = await env.createWorker();
  return await worker.runUntil(async () => {
    const handle = await startBatchJob(
      env.conn.client,
      { endpoint: '/v1/chat/completions', wait: FAST_WAIT, ...input } as StartJobInput,
      { taskQueue: env.taskQueue },
    );
    const watcher = during?.();
    const summary = await handle.result();
    await watcher;
    return summary;
  });
}

describe('retry rounds, terminal failures and expiry', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('rounds');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('10% retryable per-row failures: retry rounds bring every row to succeeded', async () => {
    env.emulator.setConfig({
      rowErrors: { server_error: 0.05, rate_limit_exceeded: 0.05 },
      rowsPerSecond: 'instant',
      completionWindowSeconds: 86_400,
    });
    const inputUri = await writeChatInput(env, 2_000, { file: 'retryable.jsonl' });
    const summary = await runJob(env, {
      jobId: `retryable-${Date.now()}`,
      inputUri,
      limits: { maxRequests: 800 },
      maxRounds: 6,
    });
    expect(summary.status).toBe('completed');
    expect(summary.rounds.length).toBeGreaterThanOrEqual(2);
    const first = summary.rounds[0];
    expect(first?.counts.failed ?? 0).toBeGreaterThan(100);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(2_000);
    expect(rows).toHaveLength(2_000);
    expect(statuses).toEqual({ succeeded: 2_000 });
    expect(rows.some((r) => r.round > 1)).toBe(true);
  });

  it('terminal per-row failures land in failures.jsonl with their reasons; the job still succeeds', async () => {
    env.emulator.setConfig({ rowErrors: { server_error: 0, rate_limit_exceeded: 0, invalid_request_error: 0.1 } });
    const inputUri = await writeChatInput(env, 1_000, { file: 'terminal.jsonl' });
    const summary = await runJob(env, { jobId: `terminal-${Date.now()}`, inputUri, maxRounds: 3 });
    expect(summary.status).toBe('completed');
    // Terminal failures are not retried: one round.
    expect(summary.rounds).toHaveLength(1);
    const failed = summary.counts.failed ?? 0;
    expect(failed).toBeGreaterThan(50);
    expect((summary.counts.succeeded ?? 0) + failed).toBe(1_000);
    const failures = await readJsonlFile<ResultLine>(env.storageRoot, summary.failuresUri);
    expect(failures).toHaveLength(failed);
    for (const row of failures) {
      expect(row.error?.code).toBe('invalid_request_error');
      expect(row.error?.message).toBeTruthy();
    }
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).ids.size).toBe(1_000);
  });

  it('a batch that expires with part of its rows done keeps the done rows; the rest succeed in the next round', async () => {
    env.emulator.setConfig({ rowErrors: { invalid_request_error: 0 }, rowsPerSecond: 100, completionWindowSeconds: 3 });
    const inputUri = await writeChatInput(env, 1_000, { file: 'expiring.jsonl' });
    // Once the first batch has expired, later batches get a normal window.
    const restoreAfterExpiry = async (): Promise<void> => {
      for (let i = 0; i < 600; i++) {
        if ((env.emulator.stats().batchesByStatus['expired'] ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      env.emulator.setConfig({ rowsPerSecond: 'instant', completionWindowSeconds: 86_400 });
    };
    const summary = await runJob(env, { jobId: `expiring-${Date.now()}`, inputUri, maxRounds: 3 }, restoreAfterExpiry);
    expect(summary.status).toBe('completed');
    expect(summary.rounds.length).toBeGreaterThanOrEqual(2);
    const first = summary.rounds[0]?.counts ?? {};
    expect(first.succeeded ?? 0).toBeGreaterThan(0);
    expect(first.expired ?? 0).toBeGreaterThan(0);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(1_000);
    expect(statuses).toEqual({ succeeded: 1_000 });
    // The rows done before expiry are kept from round 1, never resubmitted.
    expect(rows.filter((r) => r.round === 1)).toHaveLength(first.succeeded ?? -1);
  });

  it('a failed batch: its rows are reported with the batch errors and the other chunks complete', async () => {
    // The emulator accepts at most 250 requests per batch: the 300-request chunk fails validation.
    env.emulator.setConfig({ rowsPerSecond: 'instant', completionWindowSeconds: 86_400, limits: { maxRequests: 250 } });
    const inputUri = await writeChatInput(env, 500, { file: 'failed-batch.jsonl' });
    try {
      const summary = await runJob(env, {
        jobId: `failed-batch-${Date.now()}`,
        inputUri,
        limits: { maxRequests: 300 },
        maxRounds: 2,
      });
      expect(summary.status).toBe('completed');
      const rows = await readJsonlFile<ResultLine & { batch_ids: string[] }>(env.storageRoot, summary.resultsUri);
      expect(tally(rows).ids.size).toBe(500);
      expect(tally(rows).statuses).toEqual({ failed: 300, succeeded: 200 });
      const failed = rows.filter((r) => r.status === 'failed');
      const failedBatch = failed[0]?.batch_ids[0];
      for (const row of failed) {
        expect(row.error?.code).toBe('too_many_tasks');
        expect(row.batch_ids).toEqual([failedBatch]);
      }
      // Not retryable: one round; the rows are kept with the batch's error.
      expect(summary.rounds).toHaveLength(1);
      const failures = await readJsonlFile<ResultLine>(env.storageRoot, summary.failuresUri);
      expect(failures).toHaveLength(300);
    } finally {
      env.emulator.setConfig({ limits: { maxRequests: 50_000 } });
    }
  });
});
