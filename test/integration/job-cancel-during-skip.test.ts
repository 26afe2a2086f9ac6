// A cancel that lands while the job records a skipped chunk (budget) must not drop that chunk.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planJob } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, cancelWhileGated, gatedWorker } from '../support/activity-gate.ts';
import { readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('cancel while a skipped chunk is being recorded', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-skip', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a cancel during a budget skip keeps every input row exactly once in results.jsonl', async () => {
    const jobId = `cancel-skip-${Date.now()}`;
    const inputUri = await writeChatInput(env, 300, { file: 'cancel-skip.jsonl' });
    const estimate = await planJob(
      { jobId: `estimate-${jobId}`, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 } },
      openStorage(env.storageRoot),
    );
    const perChunk = estimate.chunks[0]?.estimatedCostUsd ?? 0;
    // Chunk 0 runs (slowly); chunks 1 and 2 are over budget: the first skip is held while the job is cancelled.
    const skip = new ActivityGate('collectChunk', (input) => input['end'] === 'not_submitted');
    const worker = await gatedWorker(env, skip);
    const outcome = await cancelWhileGated(env, worker, skip, {
      jobId,
      inputUri,
      endpoint: '/v1/chat/completions',
      limits: { maxRequests: 100 },
      maxCostUsd: perChunk * 1.5,
      maxRounds: 1,
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    expect(tally(rows).ids.size).toBe(300);
    expect(rows).toHaveLength(300);
  });
});
