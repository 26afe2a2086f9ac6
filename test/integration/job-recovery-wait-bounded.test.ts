// A chunk terminated by an operator while its batch runs, and a batch whose cancel never completes
// at OpenAI: recovery waits `wait.recoveryWaitMs` for it to end, then records the chunk's rows with
// what is known, so the job still ends (patch lost-chunk-wait-bounded), and recovers it once
// (patch lost-chunk-recovered-once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

interface Row {
  custom_id: string;
  status: string;
  error: { code: string } | null;
}

describe('recovery of a terminated chunk whose batch never finishes cancelling', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Cancelling takes an hour: far past the recovery's bound.
    env = await startJobEnv('recovery-bounded', { rowsPerSecond: 4, cancellingSeconds: 3_600 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('waits recoveryWaitMs, then records every row once and the job ends', async () => {
    const jobId = `recovery-bounded-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker();
    const recoveryWaitMs = 10_000;
    const { summary, endedAfterMs } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          maxRounds: 1,
          wait: { ...FAST_WAIT, recoveryWaitMs },
        },
        { taskQueue: env.taskQueue },
      );
      await until(
        'the batch to have rows done',
        async () => (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.done > 2) ?? false,
      );
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      const terminatedAt = Date.now();
      // Unbounded, the job would wait the hour the emulator takes to cancel.
      const result = await Promise.race([
        handle.result(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the job did not end within 150 s of the terminate')), 150_000),
        ),
      ]);
      return { summary: result, endedAfterMs: Date.now() - terminatedAt };
    });
    expect(endedAfterMs).toBeGreaterThanOrEqual(recoveryWaitMs);
    // The batch was cancelled and is still cancelling: nothing more was known of its rows.
    const batches = env.emulator.inventory().batches;
    expect(batches.map((b) => b.status)).toEqual(['cancelling']);
    const rows = await readJsonlFile<Row>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(statuses).toEqual({ failed: 100 });
    expect(new Set(rows.map((r) => r.error?.code))).toEqual(new Set(['chunk_ended']));
    // Recovered once (the chunk's own rejected result and the job's check both find it ended),
    // and bounded in waits too: ceil(10 s / progressRefreshMs 5 s) = 2 waits for the cancelled batch.
    const history = await env.conn.client.workflow.getHandle(jobId).fetchHistory();
    const scheduled = (name: string) =>
      (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name);
    expect(scheduled('cancelBatch')).toHaveLength(1);
    expect(scheduled('collectChunk')).toHaveLength(1);
    expect(scheduled('waitForBatch')).toHaveLength(2);
  }, 240_000);

  it('a job that is due to continue as new during a recovery continues after it: the chunk is recovered once', async () => {
    const jobId = `recovery-can-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          maxRounds: 1,
          limits: { maxRequests: 100 },
          // Due at once: the other chunk's progress reports wake the loop while c0 is recovered.
          continueAsNewAfterEvents: 50,
          wait: { ...FAST_WAIT, progressRefreshMs: 1_000, recoveryWaitMs: 10_000 },
        },
        { taskQueue: env.taskQueue },
      );
      await until(
        'both batches to have rows done',
        async () => {
          const active = (await getJobProgress(handle).catch(() => undefined))?.active ?? [];
          return active.length === 2 && active.every((c) => c.done > 1);
        },
        120_000,
      );
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      // The other chunk's batch is cancelled too, so that the job ends (its rows: cancelled).
      await until('the recovery to start', () =>
        Promise.resolve(env.emulator.inventory().batches.some((b) => b.status === 'cancelling')),
      );
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c1`).terminate('test: end the job');
      return await handle.result();
    });
    const rows = await readJsonlFile<Row>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).ids.size).toBe(200);
    // Every run of the job: c0's batch was cancelled and its rows collected once.
    let runId: string | undefined;
    const summaries: string[] = [];
    let runs = 0;
    while (runs++ < 50) {
      const history = await env.conn.client.workflow.getHandle(jobId, runId).fetchHistory();
      for (const e of history.events ?? []) {
        const data = e.activityTaskScheduledEventAttributes && e.userMetadata?.summary?.data;
        if (data) summaries.push(Buffer.from(data).toString('utf8'));
      }
      runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
      if (!runId) break;
    }
    // It did continue as new (on the old code, in the middle of the recovery).
    expect(runs).toBeGreaterThan(1);
    const ofC0 = (verb: string) => summaries.filter((t) => t.includes(verb) && t.includes(`${jobId}/r1/c0`));
    expect(ofC0('cancel batch')).toHaveLength(1);
    expect(ofC0('record the rows of ended chunk')).toHaveLength(1);
  }, 300_000);
});
