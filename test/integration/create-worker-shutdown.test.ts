import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a worker shut down while createBatch runs', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // The search before the create is held 3 s, so the shutdown lands while createBatch runs.
    env = await startJobEnv('create-shutdown', {
      rowsPerSecond: 200,
      faults: { 'batches.list': { latencyMs: 3_000 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('is not a cancel: the next worker creates the batch and every row succeeds', async () => {
    const jobId = `create-shutdown-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'create-shutdown.jsonl' });
    const listsBefore = env.emulator.stats().callsPerRoute['batches.list'] ?? 0;
    const first = await env.createWorker();
    const running = first.run();
    const handle = await startBatchJob(
      env.conn.client,
      { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 200 }, wait: FAST_WAIT },
      { taskQueue: env.taskQueue },
    );
    await until(
      'createBatch to search for the key',
      () => Promise.resolve((env.emulator.stats().callsPerRoute['batches.list'] ?? 0) > listsBefore),
      120_000,
      20,
    );
    // A deploy: SIGTERM, a graceful shutdown that cancels running activities (WORKER_SHUTDOWN).
    first.shutdown();
    await running;
    const second = await env.createWorker();
    const summary = await second.runUntil(handle.result());
    expect(summary.status).toBe('completed');
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect(statuses).toEqual({ succeeded: 100 });
    expect((await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).describe()).status.name).toBe('COMPLETED');
  });
});
