// How a job ends, as an author and an operator see it: an input that cannot be read fails the job at
// once with the path and the fix, and every way a job ends leaves its status search attribute true
// (the CLI's `list --status` finds it).
import type { ApplicationFailure } from '@temporalio/client';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { JOB_STATUS } from '../../common/search-attributes.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';
import { until } from '../support/until.ts';

describe('how a job ends', () => {
  let env: JobEnv;
  let cliEnv: Record<string, string>;
  beforeAll(async () => {
    env = await startJobEnv('job-ends');
    cliEnv = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    };
  });
  afterAll(async () => {
    await env?.close();
  });

  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli(args, { cwd: env.dir, env: cliEnv });
  const statusOf = async (jobId: string): Promise<unknown> =>
    (await env.conn.client.workflow.getHandle(jobId).describe()).typedSearchAttributes.get(JOB_STATUS);
  /** Visibility is eventually consistent: waits until `list --status` shows the job. */
  const listedAs = async (jobId: string, status: string): Promise<string> => {
    let out = '';
    await until(`list --status ${status} to show ${jobId}`, async () => {
      out = (await cli('list', '--status', status)).stdout;
      return out.includes(jobId);
    });
    return out;
  };

  it('a job whose input does not exist fails at once, not retried, naming the path and the fix', async () => {
    const jobId = `missing-input-${Date.now()}`;
    const worker: Worker = await env.createWorker();
    const err = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri: 'inputs/no-such-file.jsonl', endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle).then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    const failure = (activity as ActivityFailure).cause as ApplicationFailure;
    expect(failure.type).toBe('OpenAIBatch.Storage');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('inputs/no-such-file.jsonl');
    expect(failure.message).toContain('does not exist');
    expect(failure.message).toContain("the workers' storage root");
    // One attempt: planning was not retried.
    const history = await env.conn.client.workflow.getHandle(jobId).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
    expect(await statusOf(jobId)).toBe('failed');
    expect(await listedAs(jobId, 'failed')).toContain(jobId);
  });

  it('a job whose input is a directory fails at once with the path', async () => {
    const jobId = `dir-input-${Date.now()}`;
    await mkdir(join(env.dir, 'storage', 'inputs', 'a-directory.jsonl'), { recursive: true });
    const worker: Worker = await env.createWorker();
    const err = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri: 'inputs/a-directory.jsonl', endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle).then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    const failure = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(failure.type).toBe('OpenAIBatch.Storage');
    expect(failure.message).toContain('a-directory.jsonl" is a directory, not a file');
    expect(await statusOf(jobId)).toBe('failed');
  });

  it('a job cancelled before planning ended is listed as cancelled', async () => {
    const jobId = `cancel-planning-${Date.now()}`;
    const inputUri = await writeChatInput(env, 20, { file: 'cancel-planning.jsonl' });
    // Started and cancelled before any worker runs it: the cancel reaches it before planning ends.
    const handle = await startBatchJob(
      env.conn.client,
      { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
      { taskQueue: env.taskQueue },
    );
    await handle.cancel();
    const worker: Worker = await env.createWorker();
    await worker.runUntil(handle.result().catch(() => undefined));
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await statusOf(jobId)).toBe('cancelled');
    const listed = await listedAs(jobId, 'cancelled');
    expect(listed.split('\n').find((l) => l.includes(jobId))).toContain('cancelled');
  });

  it('a job cut by its deadline is listed as deadline_exceeded, not completed', async () => {
    const jobId = `deadline-status-${Date.now()}`;
    const inputUri = await writeChatInput(env, 300, { file: 'deadline-status.jsonl' });
    // 300 rows at 20 a second outlast a 4-second deadline.
    env.emulator.setConfig({ rowsPerSecond: 20 });
    const worker: Worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', deadline: Date.now() + 4_000, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    expect(summary.status).toBe('deadline_exceeded');
    expect(await statusOf(jobId)).toBe('deadline_exceeded');
    expect(await listedAs(jobId, 'deadline_exceeded')).toContain(jobId);
  });
  it('a job that continues as new leaves no closed run marked failed', async () => {
    const jobId = `can-status-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'can-status.jsonl' });
    env.emulator.setConfig({ rowsPerSecond: 50 });
    const worker: Worker = await env.createWorker();
    const { summary, firstRunId } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 50 },
          maxActiveBatches: 1,
          continueAsNewAfterEvents: 50,
          wait: { ...FAST_WAIT, progressRefreshMs: 1_000 },
        },
        { taskQueue: env.taskQueue },
      );
      return { summary: await awaitJobSummary(handle), firstRunId: handle.firstExecutionRunId };
    });
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    expect(summary.status).toBe('completed');
    const first = await env.conn.client.workflow.getHandle(jobId, firstRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(first.typedSearchAttributes.get(JOB_STATUS)).not.toBe('failed');
    expect(await statusOf(jobId)).toBe('completed');
    expect(await cli('list', '--status', 'failed').then((r) => r.stdout)).not.toContain(jobId);
  });
});
