// Progress that follows the polls for a job not started by `run`: the job's own view (the progress
// query, the UI's current details, `list`'s search attribute) moves while a batch runs, not only at
// each progress refresh, and the chunk's history stays bounded for it.
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { progressQuery } from '../../common/messages.ts';
import { JOB_PROGRESS } from '../../common/search-attributes.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

describe('progress between refreshes', () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let cliEnv: Record<string, string>;
  beforeAll(async () => {
    // 400 rows at 40 a second: a batch that runs about ten seconds.
    env = await startJobEnv('progress', { rowsPerSecond: 40 });
    worker = await env.createWorker();
    running = worker.run();
    cliEnv = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    };
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  it('the job sees rows done as the polls see them, with a progress refresh far away, in at most ten extra wakes', async () => {
    const jobId = `progress-${Date.now()}`;
    const inputUri = await writeChatInput(env, 400, { file: 'progress.jsonl' });
    const handle = await startBatchJob(
      env.conn.client,
      // A progress refresh every 10 minutes: only the polls can move the job's counts here.
      { jobId, inputUri, endpoint: '/v1/chat/completions', wait: { ...FAST_WAIT, progressRefreshMs: 600_000 } },
      { taskQueue: env.taskQueue },
    );
    const midway: number[] = [];
    let listed = -1;
    const result = handle.result();
    let ended = false;
    void result.finally(() => (ended = true));
    while (!ended) {
      const p = await handle.query(progressQuery).catch(() => undefined);
      if (p && p.rowsDone > 0 && p.rowsDone < 400 && p.chunks.done === 0) {
        midway.push(p.rowsDone);
        expect(p.observedAtMs).toBeDefined();
        if (p.etaMs !== undefined) expect(p.etaMs).toBeGreaterThanOrEqual(p.observedAtMs ?? 0);
        const percent = (await handle.describe()).typedSearchAttributes.get(JOB_PROGRESS);
        if (typeof percent === 'number' && percent > 0 && percent < 100) listed = percent;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const summary = await result;
    expect(summary.rows).toBe(400);
    // The job's own view moved while the batch ran (before: 0 until the chunk ended).
    expect(midway.length).toBeGreaterThan(0);
    expect(listed).toBeGreaterThan(0);

    // The chunk's cost: each early wake is one more wait activity; at most ten per batch.
    const history = await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory();
    const events = history.events ?? [];
    const waits = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch',
    ).length;
    console.log(
      `[progress] chunk events ${events.length}, waitForBatch activities ${waits}, job saw ${midway.length} midway counts`,
    );
    expect(waits).toBeLessThanOrEqual(11);
    expect(waits).toBeGreaterThan(1);

    // `status` of the ended job: elapsed stops at the job's end; tokens and the cost bound are named.
    const status = await runCli(['status', jobId], { cwd: env.dir, env: cliEnv });
    expect(status.stdout).toContain(`job ${jobId}: COMPLETED`);
    expect(status.stdout).toMatch(/tokens in [1-9]/);
    expect(status.stdout).toContain('cost at most');
    const elapsed = /elapsed (\S+)/.exec(status.stdout)?.[1];
    await new Promise((r) => setTimeout(r, 2_000));
    const again = await runCli(['status', jobId], { cwd: env.dir, env: cliEnv });
    expect(/elapsed (\S+)/.exec(again.stdout)?.[1]).toBe(elapsed);
  });
});
