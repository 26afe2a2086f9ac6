import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { startTestReceiver, type TestReceiver } from '../support/webhook-receiver.ts';
import { until } from '../support/until.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Polls so slow (a 10-minute floor) that a job finishing in seconds can only have been woken by its
 * webhook; progress wakes off for the same reason.
 */
const SLOW_POLLS = { ...FAST_WAIT, minPollMs: 600_000, maxPollMs: 600_000, progressRefreshMs: 3_600_000 };

function signals(events: readonly HistoryEvent[], name: string): number {
  return events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
}

describe('a webhook wakes the chunk waiting for its batch', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  beforeAll(async () => {
    // Rows instant, then 4 s finalizing: the first poll after validation finds the batch running.
    env = await startJobEnv('webhook-wake', { finalizingSeconds: 4 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
    env.emulator.setConfig({ webhooks: { url: receiver.url, retryDelaysMs: [200, 200], timeoutMs: 60_000 } });
  });
  afterAll(async () => {
    await receiver?.close();
    await env?.close();
  });

  async function runJob(
    rows: number,
    jobId: string,
    limits: { maxRequests: number },
    beside: () => Promise<void> = () => Promise.resolve(),
  ) {
    const input = await writeChatInput(env, rows, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker();
    return await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri: input, endpoint: '/v1/chat/completions', limits, wait: SLOW_POLLS },
        { taskQueue: env.taskQueue },
      );
      const [summary] = await Promise.all([awaitJobSummary(handle), beside()]);
      return summary;
    });
  }

  it('a batch.completed delivery ends the wait at once: one confirming poll, then the collect', async () => {
    const jobId = `wh-wake-${Date.now()}`;
    // The delivery is held until the chunk's wait runs and has polled once: under load the end
    // could otherwise arrive before the wait began, which then has nothing to cancel.
    const release = receiver.holdDeliveries();
    const retrievesBefore = env.emulator.stats().callsPerRoute['batches.retrieve'] ?? 0;
    const summary = await runJob(20, jobId, { maxRequests: 100 }, async () => {
      try {
        await until(
          'the chunk waiting for its batch, after one poll',
          async () => {
            const pending =
              (
                await env.conn.client.workflow
                  .getHandle(`${jobId}/r1/c0`)
                  .describe()
                  .catch(() => undefined)
              )?.raw.pendingActivities ?? [];
            const polled = (env.emulator.stats().callsPerRoute['batches.retrieve'] ?? 0) > retrievesBefore;
            // Each poll is an attempt: between polls the wait is pending in its retry backoff
            // (SCHEDULED), which the end's signal cancels all the same.
            return polled && pending.some((a) => a.activityType?.name === 'waitForBatch');
          },
          60_000,
          50,
        );
      } finally {
        release();
      }
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(20);
    const chunk = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
    expect(signals(chunk, 'batchEnded')).toBe(1);
    // The running wait was cancelled by the hint, and one new wait confirmed the end at its first poll.
    const signalAt = chunk.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'batchEnded');
    const after = chunk.slice(signalAt);
    const isWait = (e: HistoryEvent) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch';
    expect(chunk.filter((e) => e.activityTaskCancelRequestedEventAttributes).length).toBe(1);
    expect(after.filter(isWait)).toHaveLength(1);
    const confirm = after.findIndex(isWait);
    const started = after.find((e, i) => i > confirm && e.activityTaskStartedEventAttributes);
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    const confirmed = after.findIndex((e, i) => i > confirm && e.activityTaskCompletedEventAttributes);
    console.log(`[webhook] chunk events ${chunk.length}; signal to confirmed end: ${confirmed + 1} events`);
    expect(receiver.receiver.counters().signalled).toBeGreaterThanOrEqual(1);
    const events = env.emulator.webhooks().events.filter((e) => e.batchId === summary.batchIds[0]);
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('batch.completed');
  });

  it('a batchEnded signal without a payload (an operator typo) is ignored: the chunk still ends on the delivery', async () => {
    const jobId = `wh-bad-signal-${Date.now()}`;
    const input = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri: input, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 }, wait: SLOW_POLLS },
        { taskQueue: env.taskQueue },
      );
      const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
      await until(
        'the chunk to start',
        async () => ((await chunk.fetchHistory().catch(() => undefined))?.events?.length ?? 0) > 0,
        60_000,
        50,
      );
      // As `temporal workflow signal --name batchEnded` with no --input sends it.
      await chunk.signal('batchEnded');
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(20);
    const chunk = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
    expect(chunk.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  });

  it('duplicated, delayed and reordered deliveries wake each chunk once', async () => {
    env.emulator.setConfig({ webhooks: { duplicateRate: 1, delayMs: 300, reorderWindowMs: 500 } });
    try {
      const jobId = `wh-dup-${Date.now()}`;
      const summary = await runJob(30, jobId, { maxRequests: 10 });
      expect(summary.status).toBe('completed');
      expect(summary.counts.succeeded).toBe(30);
      expect(summary.batchIds).toHaveLength(3);
      for (let c = 0; c < 3; c++) {
        const chunk = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).fetchHistory()).events ?? [];
        // Both copies share a webhook-id: the receiver signals once.
        expect(signals(chunk, 'batchEnded'), `chunk ${c}`).toBe(1);
      }
      const sent = env.emulator.webhooks().events.filter((e) => summary.batchIds.includes(e.batchId));
      // The two copies go out at once: a copy that arrives while the other is being handled is
      // refused (409) and delivered again, then answered as a duplicate.
      for (const e of sent) {
        expect(e.duplicated).toBe(true);
        expect(e.attempts.length).toBeGreaterThanOrEqual(2);
        expect(e.attempts.every((a) => a.status === 200 || a.status === 409)).toBe(true);
        expect(e.deliveredAtMs).not.toBeNull();
      }
      expect(receiver.receiver.counters().duplicates).toBeGreaterThanOrEqual(3);
    } finally {
      env.emulator.setConfig({ webhooks: { duplicateRate: 0, delayMs: 0, reorderWindowMs: 0 } });
    }
  });
});

describe('lost deliveries fall back to polling', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  beforeAll(async () => {
    env = await startJobEnv('webhook-lost', { finalizingSeconds: 1 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
    env.emulator.setConfig({ webhooks: { url: receiver.url, lostRate: 1 } });
  });
  afterAll(async () => {
    await receiver?.close();
    await env?.close();
  });

  it('with every delivery lost, the stretched polls still notice the end and collect every row', async () => {
    const jobId = `wh-lost-${Date.now()}`;
    const input = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri: input, endpoint: '/v1/chat/completions', wait: { ...FAST_WAIT, webhooks: true } },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(20);
    const chunk = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
    expect(signals(chunk, 'batchEnded')).toBe(0);
    const events = env.emulator.webhooks().events.filter((e) => e.batchId === summary.batchIds[0]);
    expect(events.map((e) => [e.lost, e.attempts.length])).toEqual([[true, 0]]);
    expect(receiver.receiver.counters().received).toBe(0);
  });
});
