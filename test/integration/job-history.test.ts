// History stays small whatever the job's size, and one batch's wait costs few events and actions.
// Prints the figures quoted in the README (run: npx vitest run test/integration/job-history.test.ts).
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import type { JobSummary } from '../../common/job-types.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

interface HistoryFigures {
  events: number;
  bytes: number;
  largestPayloadBytes: number;
}

async function figures(client: Client, workflowId: string): Promise<HistoryFigures> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const history = await handle.fetchHistory();
  let largest = 0;
  for (const event of history.events ?? []) {
    const attrs = Object.values(event).find(
      (v): v is Record<string, unknown> => typeof v === 'object' && v !== null && ('input' in v || 'result' in v),
    );
    for (const key of ['input', 'result'] as const) {
      const payloads = (attrs?.[key] as { payloads?: { data?: Uint8Array | null }[] } | undefined)?.payloads ?? [];
      for (const p of payloads) largest = Math.max(largest, p.data?.length ?? 0);
    }
  }
  return { events: description.historyLength, bytes: description.historySize ?? 0, largestPayloadBytes: largest };
}

describe('history size and the cost of waiting', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('history');
  });
  afterAll(async () => {
    await env?.close();
  });

  async function run(
    rows: number,
    extra: Record<string, unknown> = {},
  ): Promise<{ jobId: string; summary: JobSummary }> {
    const jobId = `history-${rows}-${Date.now()}`;
    const inputUri = await writeChatInput(env, rows, { file: `history-${rows}.jsonl` });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT, ...extra },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    return { jobId, summary };
  }

  it('a 100,000-row job leaves a history of the same size as a 1,000-row job', async () => {
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    const small = await run(1_000);
    const large = await run(100_000);
    const smallJob = await figures(env.conn.client, small.jobId);
    const largeJob = await figures(env.conn.client, large.jobId);
    const smallChunk = await figures(env.conn.client, `${small.jobId}/r1/c0`);
    const largeChunk = await figures(env.conn.client, `${large.jobId}/r1/c0`);
    console.log(
      '[history] rows | job events | job bytes | job largest payload | chunks | chunk events | chunk bytes | chunk largest payload\n' +
        `[history] 1,000   | ${smallJob.events} | ${smallJob.bytes} | ${smallJob.largestPayloadBytes} | ${small.summary.rounds[0]?.chunks} | ${smallChunk.events} | ${smallChunk.bytes} | ${smallChunk.largestPayloadBytes}\n` +
        `[history] 100,000 | ${largeJob.events} | ${largeJob.bytes} | ${largeJob.largestPayloadBytes} | ${large.summary.rounds[0]?.chunks} | ${largeChunk.events} | ${largeChunk.bytes} | ${largeChunk.largestPayloadBytes}`,
    );
    expect(large.summary.rows).toBe(100_000);
    // 100x the rows: no payload grows with the rows; history grows with chunks and waiting time only
    // (the 100,000-row job has two chunks and waits longer for the emulator to write 50,000 rows).
    expect(largeJob.largestPayloadBytes).toBeLessThan(smallJob.largestPayloadBytes + 512);
    expect(largeChunk.largestPayloadBytes).toBeLessThan(smallChunk.largestPayloadBytes + 512);
    expect(largeJob.bytes / largeJob.events).toBeLessThan((1.3 * smallJob.bytes) / smallJob.events);
    expect(largeChunk.bytes / largeChunk.events).toBeLessThan((1.3 * smallChunk.bytes) / smallChunk.events);
    expect(largeJob.bytes).toBeLessThan(64 * 1024);
  });

  it('waiting costs one activity attempt per poll and about a dozen history events per progress wake', async () => {
    // One 600-row batch at 20 rows/s runs ~30 s; polls every 200 ms-1 s; wakes every 5 s.
    env.emulator.setConfig({ rowsPerSecond: 20 });
    const before = env.emulator.stats().callsPerRoute['batches.retrieve'] ?? 0;
    const { jobId } = await run(600, { wait: { ...FAST_WAIT, progressRefreshMs: 5_000 } });
    const polls = (env.emulator.stats().callsPerRoute['batches.retrieve'] ?? 0) - before;
    const chunk = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
    const job = (await env.conn.client.workflow.getHandle(jobId).fetchHistory()).events ?? [];
    // Event positions of each waitForBatch activity: the gap between two is one wake.
    const waits = chunk.flatMap((e, i) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch' ? [i] : [],
    );
    const gaps = waits.slice(1).map((p, i) => p - (waits[i] as number));
    const perWake = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
    const progressSignals = job.filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'chunkProgress',
    ).length;
    const fixedChunkEvents = chunk.length - perWake * gaps.length;
    console.log(
      `[wait] polls ${polls}; wait activities ${waits.length}; chunk events ${chunk.length} (≈${perWake.toFixed(1)} per wake, ≈${fixedChunkEvents.toFixed(0)} fixed); ` +
        `job events ${job.length} with ${progressSignals} progress signals`,
    );
    expect(waits.length).toBeGreaterThanOrEqual(3);
    // Polls are retries: many more polls than activities (and history events).
    expect(polls).toBeGreaterThan(waits.length * 3);
    expect(perWake).toBeLessThanOrEqual(12);
  });
});
