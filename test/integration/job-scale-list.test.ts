// `openai-batch list --batch-id` finds a large job by any of its batches (issue 11): the search
// attribute holds only the active and newest ids (2 KiB), so for an older batch the CLI reads the
// job id from the batch's metadata at OpenAI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { BATCH_IDS } from '../../common/search-attributes.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

describe('list --batch-id on a job with more batches than its search attribute holds', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('scale-list');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('list --batch-id finds the job by its oldest batch, which the search attribute no longer lists', async () => {
    const jobId = `scale-list-${Date.now()}`;
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
    const oldest = summary.batchIds[0] as string;
    const newest = summary.batchIds.at(-1) as string;
    const published = (await handle.describe()).typedSearchAttributes.get(BATCH_IDS) ?? [];
    expect(published).not.toContain(oldest);

    const cli = (batchId: string) =>
      runCli(['list', '--batch-id', batchId], {
        cwd: env.dir,
        env: {
          TEMPORAL_ADDRESS: devServer().address,
          TEMPORAL_NAMESPACE: devServer().namespace,
          OPENAI_BASE_URL: env.emulator.baseURL,
          OPENAI_API_KEY: 'sk-test-not-a-secret',
        },
      });
    // Visibility is eventually consistent: the newest id shows once the job is indexed.
    let byNewest = '';
    for (let i = 0; i < 20 && !byNewest.includes(jobId); i++) {
      byNewest = (await cli(newest)).stdout;
      if (!byNewest.includes(jobId)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(byNewest).toContain(jobId);
    const byOldest = await cli(oldest);
    expect(byOldest.stdout).toContain(jobId);
    expect(byOldest.stdout).toContain(`found by batch ${oldest}'s metadata`);
    const unknown = await cli('batch_does_not_exist');
    expect(unknown.stdout).toContain('no jobs match');
    expect(unknown.stderr).toBe('');
  }, 600_000);
});
