// How a chunk workflow ends when something goes wrong: it reports to its job on every exit, never
// abandons a running batch, and bounds its token-limit resubmissions.
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { openStorage } from '../../src/storage/index.ts';
import { devServer } from '../support/temporal.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

interface ResultLine {
  custom_id: string;
  status: string;
  error?: { code?: string; message?: string } | null;
}

describe('a chunk reports and keeps its rows on every exit', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('chunk-failures', { rowsPerSecond: 2 });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function chunkStatus(workflowId: string): Promise<string> {
    return (await env.conn.client.workflow.getHandle(workflowId).describe()).status.name;
  }

  async function signalsSent(workflowId: string): Promise<string[]> {
    const history = await env.conn.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).flatMap((e) =>
      e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName
        ? [e.signalExternalWorkflowExecutionInitiatedEventAttributes.signalName]
        : [],
    );
  }

  it("a poll delay longer than the wait activity's schedule-to-close bound keeps the chunk waiting and leaves no batch running", async () => {
    const jobId = `poll-bound-${Date.now()}`;
    const inputUri = await writeChatInput(env, 40, { file: 'poll-bound.jsonl' });
    const chunkId = `${jobId}/r1/c0`;
    const worker = await env.createWorker();
    const { status, outcome } = await worker.runUntil(async () => {
      // The bound is progressRefreshMs * 2 + 300 s = 310 s; each poll of a running batch asks for 400 s.
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          maxRounds: 1,
          wait: { ...FAST_WAIT, minPollMs: 400_000, maxPollMs: 400_000, progressRefreshMs: 5_000 },
        },
        { taskQueue: env.taskQueue },
      );
      await until('the chunk polled its running batch once, or ended', async () => {
        const description = await env.conn.client.workflow
          .getHandle(chunkId)
          .describe()
          .catch(() => undefined);
        if (!description) return false;
        if (description.status.name !== 'RUNNING') return true;
        return (description.raw.pendingActivities ?? []).some(
          (a) => a.activityType?.name === 'waitForBatch' && (a.attempt ?? 0) >= 2,
        );
      });
      const status = await chunkStatus(chunkId);
      if (status === 'RUNNING') await handle.cancel();
      const outcome = await handle.result().then(
        (s) => s,
        (err: unknown) => err,
      );
      return { status, outcome };
    });
    expect(status).toBe('RUNNING');
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    expect(stats.batchesByStatus['in_progress'] ?? 0).toBe(0);
    const storage = openStorage(env.storageRoot);
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, storage.jobUri(jobId, 'results.jsonl'));
    expect(rows).toHaveLength(40);
    expect(rows.filter((r) => r.error?.code === 'chunk_failed')).toEqual([]);
  });

  it('a chunk whose batch cannot be cancelled (401 on cancel) still reports to its job, and the cancelled job ends', async () => {
    const jobId = `cancel-401-${Date.now()}`;
    const inputUri = await writeChatInput(env, 40, { file: 'cancel-401.jsonl' });
    const chunkId = `${jobId}/r1/c0`;
    const worker = await env.createWorker();
    try {
      const { chunkEnd, signals, outcome } = await worker.runUntil(async () => {
        // Polls a minute apart: no poll meets the revoked key before the cancel does.
        const handle = await startBatchJob(
          env.conn.client,
          {
            jobId,
            inputUri,
            endpoint: '/v1/chat/completions',
            maxRounds: 1,
            wait: { ...FAST_WAIT, minPollMs: 60_000, maxPollMs: 60_000 },
          },
          { taskQueue: env.taskQueue },
        );
        await until('the chunk waits on its batch', async () => {
          const progress = await getJobProgress(handle).catch(() => undefined);
          if (!progress?.active.some((a) => a.phase === 'waiting' && a.batchId !== undefined)) return false;
          const pending = (await env.conn.client.workflow.getHandle(chunkId).describe()).raw.pendingActivities ?? [];
          return pending.some((a) => a.activityType?.name === 'waitForBatch' && (a.attempt ?? 0) >= 2);
        });
        // The key is revoked: every call of the worker now gets 401, the cancel included.
        env.emulator.setConfig({ apiKeys: ['sk-another-key'] });
        await handle.cancel();
        await until('the chunk workflow ended', async () => (await chunkStatus(chunkId)) !== 'RUNNING');
        const chunkEnd = await chunkStatus(chunkId);
        const signals = await signalsSent(chunkId);
        // Only wait for the job once the chunk reported (else it would wait for ever on this code).
        const outcome = signals.includes('chunkDone')
          ? await handle.result().then(
              (s) => s,
              (err: unknown) => err,
            )
          : undefined;
        return { chunkEnd, signals, outcome };
      });
      expect(signals).toContain('chunkDone');
      expect(chunkEnd).toBe('CANCELLED');
      expect(outcome).toBeInstanceOf(WorkflowFailedError);
      const storage = openStorage(env.storageRoot);
      const rows = await readJsonlFile<ResultLine>(env.storageRoot, storage.jobUri(jobId, 'results.jsonl'));
      expect(tally(rows).ids.size).toBe(40);
    } finally {
      env.emulator.setConfig({ apiKeys: [] });
      await env.conn.client.workflow
        .getHandle(jobId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  it('token_limit_exceeded resubmits at most maxTokenLimitRetries times, with jittered backoffs, then records the rows as retryable', async () => {
    env.emulator.setConfig({ rowsPerSecond: 'instant', enqueuedTokenLimit: { 'gpt-4o-mini': 1 } });
    const jobId = `token-cap-${Date.now()}`;
    const inputUri = await writeChatInput(env, 20, { file: 'token-cap.jsonl' });
    const worker = await env.createWorker();
    try {
      const summary = await worker.runUntil(async () => {
        const handle = await startBatchJob(
          env.conn.client,
          {
            jobId,
            inputUri,
            endpoint: '/v1/chat/completions',
            maxRounds: 1,
            limits: { maxRequests: 10 },
            continueAsNewAfterEvents: 50,
            wait: { ...FAST_WAIT, tokenLimitBackoffMs: 300, maxTokenLimitRetries: 4 },
          },
          { taskQueue: env.taskQueue },
        );
        return await handle.result();
      });
      expect(summary.status).toBe('completed');
      const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
      // The first submission and four resubmissions, per chunk.
      expect(stats.batchesByMetadata[jobId]).toBe(10);
      const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
      expect(rows).toHaveLength(20);
      // token_limit_exceeded is a retryable code: a later round (or an operator's retry) takes these rows.
      expect(new Set(rows.map((r) => `${r.status} ${r.error?.code}`))).toEqual(
        new Set(['failed token_limit_exceeded']),
      );
      const backoffs: number[] = [];
      let continued = 0;
      for (let c = 0; c < 2; c++) {
        const chunkId = `${jobId}/r1/c${c}`;
        const latest = await env.conn.client.workflow.getHandle(chunkId).fetchHistory();
        if (latest.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId) continued += 1;
        // Every run of the chunk: the backoff timers are spread over them.
        for await (const run of env.conn.client.workflow.list({ query: `WorkflowId = "${chunkId}"` })) {
          const history = await env.conn.client.workflow.getHandle(chunkId, run.runId).fetchHistory();
          for (const e of history.events ?? []) {
            const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
            if (timeout) backoffs.push(Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6));
          }
        }
      }
      // Each chunk's history stays short: it continued as new inside the resubmission loop.
      expect(continued).toBe(2);
      expect(backoffs.length).toBeGreaterThanOrEqual(2);
      // Jitter: the backoffs are not all the same.
      expect(new Set(backoffs).size).toBeGreaterThan(1);
    } finally {
      env.emulator.setConfig({ rowsPerSecond: 2, enqueuedTokenLimit: { 'gpt-4o-mini': null } });
      await env.conn.client.workflow
        .getHandle(jobId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  it('a chunk that fails while its batch runs cancels the batch and keeps the rows OpenAI finished', async () => {
    const jobId = `fail-running-${Date.now()}`;
    const inputUri = await writeChatInput(env, 40, { file: 'fail-running.jsonl' });
    const chunkId = `${jobId}/r1/c0`;
    // One poll fails for good (as a 400 or a bug would): the trigger, not what is proved.
    let failNextPoll = false;
    const worker = await Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: env.taskQueue,
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: env.storageRoot,
          openaiBaseUrl: env.emulator.baseURL,
          openaiApiKey: 'sk-test-not-a-secret',
          crashHook: (point) => {
            if (point !== 'during-poll' || !failNextPoll) return;
            failNextPoll = false;
            throw ApplicationFailure.nonRetryable('injected: this poll fails for good', 'Test.PollFailed');
          },
        }),
      ],
    });
    const { summary, chunkEnd } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until('some rows of the batch are done', async () => {
        const progress = await getJobProgress(handle).catch(() => undefined);
        return progress?.active.some((a) => a.phase === 'waiting' && a.done > 0) ?? false;
      });
      failNextPoll = true;
      const summary = await handle.result();
      return { summary, chunkEnd: await chunkStatus(chunkId) };
    });
    expect(chunkEnd).toBe('FAILED');
    const stats = env.emulator.stats({ metadataKeys: ['job_id'] });
    expect(stats.batchesByMetadata[jobId]).toBe(1);
    expect(stats.batchesByStatus['in_progress'] ?? 0).toBe(0);
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    const batch = await openai.batches.retrieve(summary.batchIds[0] as string);
    expect(batch.status).toBe('cancelled');
    const rows = await readJsonlFile<ResultLine>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(40);
    // Every row OpenAI finished (and billed) is kept; the others say the batch was cancelled.
    expect(statuses['succeeded']).toBe(batch.request_counts?.completed);
    expect((statuses['succeeded'] ?? 0) + (statuses['cancelled'] ?? 0)).toBe(40);
  });
});
