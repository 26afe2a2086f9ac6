// A chunk terminated after its batch was created but before it reported the batch id: the job's
// recovery finds the batch at OpenAI by its metadata, cancels it and keeps what it finished.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import {
  FAST_CREATE_TIMING,
  FAST_WAIT,
  readJsonlFile,
  startJobEnv,
  tally,
  writeChatInput,
  type JobEnv,
} from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a chunk terminated before it reported its batch', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Listing is slow: createBatch's check after its create holds the new batch id for 3 s.
    env = await startJobEnv('lost-unreported', { rowsPerSecond: 4, faults: { 'batches.list': { latencyMs: 3_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('recovery looks the batch up by metadata, cancels it and collects it: no row failed, no batch left running', async () => {
    const jobId = `lost-unreported-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'lost-unreported.jsonl' });
    // A send window longer than the slow listing before the create; a short settle wait for the lookup.
    const worker = await env.createWorker({
      createBatchTiming: { ...FAST_CREATE_TIMING, sendWindowMs: 5_000 },
    });
    const { summary, reportedBatch } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until('the batch to exist at OpenAI', () =>
        Promise.resolve((env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0) >= 1),
      );
      const reportedBatch = (await getJobProgress(handle)).active[0]?.batchId;
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('terminated before it reported its batch');
      return { summary: await handle.result(), reportedBatch };
    });
    // The job did not know the batch when the chunk ended.
    expect(reportedBatch).toBeUndefined();
    expect(summary.batchIds).toHaveLength(1);
    const stats = env.emulator.stats();
    expect(stats.batchesByStatus['in_progress'] ?? 0).toBe(0);
    expect(stats.batchesByStatus['cancelled'] ?? 0).toBe(1);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(100);
    expect(rows).toHaveLength(100);
    expect(statuses['failed'] ?? 0).toBe(0);
    expect((statuses['succeeded'] ?? 0) + (statuses['cancelled'] ?? 0)).toBe(100);
  });
});
