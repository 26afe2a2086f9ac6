import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { planJob } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('enqueued-token limits and continue-as-new', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('tokens', { rowsPerSecond: 150 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('token_limit_exceeded: the chunk is resubmitted later with a new idempotency key and the job completes', async () => {
    const jobId = `tokens-${Date.now()}`;
    const inputUri = await writeChatInput(env, 600, { file: 'tokens.jsonl' });
    const estimate = await planJob(
      { jobId: `estimate-${jobId}`, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 300 } },
      openStorage(env.storageRoot),
    );
    const perChunk = estimate.chunks[0]?.estimatedInputTokens ?? 0;
    // Room for one chunk in the queue, not two.
    env.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': Math.round(perChunk * 1.5) } });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 300 },
          maxActiveBatches: 2,
          wait: { ...FAST_WAIT, tokenLimitBackoffMs: 1_000 },
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    env.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': null } });
    expect(summary.status).toBe('completed');
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByStatus['failed'] ?? 0).toBeGreaterThanOrEqual(1);
    // One batch per idempotency key: the resubmission used a new key (attempt a2, a3...).
    const keys = Object.entries(stats.batchesByIdempotencyKey).filter(([k]) => k.startsWith(jobId));
    expect(keys.every(([, n]) => n === 1)).toBe(true);
    expect(keys.some(([k]) => k.endsWith(':a2'))).toBe(true);
    expect(summary.batchIds.length).toBe(keys.length);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(600);
    expect(statuses).toEqual({ succeeded: 600 });
    // Resubmission happens inside the same round: the token limit is not a row failure.
    expect(summary.rounds).toHaveLength(1);
    // The backoff timer says what it waits for in the UI's timeline.
    const timers: string[] = [];
    for (let c = 0; c < 2; c++) {
      const history = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).fetchHistory();
      for (const e of history.events ?? []) {
        if (e.timerStartedEventAttributes)
          timers.push(
            e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : '',
          );
      }
    }
    expect(timers.length).toBeGreaterThanOrEqual(1);
    expect(new Set(timers)).toEqual(new Set(['token_limit_exceeded: wait before resubmitting']));
  });

  it('chunk workflows survive the job continuing-as-new (ParentClosePolicy.ABANDON) and the job completes', async () => {
    env.emulator.setConfig({ rowsPerSecond: 200 });
    const jobId = `can-${Date.now()}`;
    const inputUri = await writeChatInput(env, 600, { file: 'can.jsonl' });
    const worker = await env.createWorker();
    const { summary, firstRunId } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 100 },
          maxActiveBatches: 2,
          continueAsNewAfterEvents: 50,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return { summary: await handle.result(), firstRunId: handle.firstExecutionRunId };
    });
    expect(summary.status).toBe('completed');
    const latest = await env.conn.client.workflow.getHandle(jobId).describe();
    expect(latest.runId).not.toBe(firstRunId);
    // The first run ended by continue-as-new while children were running; none was terminated.
    const firstRun = await env.conn.client.workflow.getHandle(jobId, firstRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
    for (let c = 0; c < 6; c++) {
      const child = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).describe();
      expect(child.status.name).toBe('COMPLETED');
    }
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId]).toBe(6);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).statuses).toEqual({ succeeded: 600 });
  });

  it('a chunk workflow continues-as-new while its batch runs and still reports its rows once', async () => {
    env.emulator.setConfig({ rowsPerSecond: 10 });
    const jobId = `chunk-can-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'chunk-can.jsonl' });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 100 },
          continueAsNewAfterEvents: 50,
          wait: { ...FAST_WAIT, progressRefreshMs: 500 },
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    for (let c = 0; c < 2; c++) {
      const history = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).fetchHistory();
      // The latest run was started by continue-as-new from an earlier run of the same chunk.
      expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
    }
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId]).toBe(2);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    expect(rows).toHaveLength(200);
    expect(tally(rows).statuses).toEqual({ succeeded: 200 });
  });
});
