// A job that creates more batches than fit in one search attribute value (issue 11: it failed with
// BadSearchAttributes once about 50 batch ids existed). The emulator runs at instant speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { BATCH_IDS, JOB_STATUS } from '../../common/search-attributes.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a job with more batch ids than fit in 2 KiB', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('many-batches');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a job of 64 one-row chunks completes and publishes the newest batch ids within 2 KiB', async () => {
    const jobId = `many-batches-${Date.now()}`;
    const inputUri = await writeChatInput(env, 64);
    const worker = await env.createWorker();
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri,
        endpoint: '/v1/chat/completions',
        limits: { maxRequests: 1 },
        maxActiveBatches: 64,
        wait: FAST_WAIT,
      },
      { taskQueue: env.taskQueue },
    );
    const summary = await worker.runUntil(awaitJobSummary(handle));
    expect(summary.status).toBe('completed');
    expect(summary.batchIds).toHaveLength(64);
    // 64 ids of 38 characters are 2,625 bytes as a JSON list: more than Temporal takes in one value.
    expect(Buffer.byteLength(JSON.stringify(summary.batchIds))).toBeGreaterThan(2_048);
    const attrs = (await handle.describe()).typedSearchAttributes;
    const published = attrs.get(BATCH_IDS) ?? [];
    expect(Buffer.byteLength(JSON.stringify(published))).toBeLessThanOrEqual(2_048);
    expect(published.length).toBeGreaterThan(40);
    expect(published).toContain(summary.batchIds.at(-1));
    expect(attrs.get(JOB_STATUS)).toBe('completed');
  });
});
