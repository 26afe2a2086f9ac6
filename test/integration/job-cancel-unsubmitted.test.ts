// Rows of a cancelled job that were never submitted say they were cancelled.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, cancelWhileGated, gatedWorker } from '../support/activity-gate.ts';
import { readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a job cancelled before its chunks were submitted', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-unsubmitted');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('rows never submitted are cancelled / not_submitted, from the chunk (cancelled during upload) and from the job (never started)', async () => {
    const jobId = `cancel-unsubmitted-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'cancel-unsubmitted.jsonl' });
    // Chunk 0's upload is held while the job is cancelled; chunk 1 waits for the single slot.
    const upload = new ActivityGate('uploadChunk');
    const worker = await gatedWorker(env, upload);
    const outcome = await cancelWhileGated(env, worker, upload, {
      jobId,
      inputUri,
      endpoint: '/v1/chat/completions',
      limits: { maxRequests: 100 },
      maxActiveBatches: 1,
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0).toBe(0);
    const rows = await readJsonlFile<{ custom_id: string; status: string; error: { code: string } | null }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(200);
    expect(statuses).toEqual({ cancelled: 200 });
    expect(new Set(rows.map((r) => r.error?.code))).toEqual(new Set(['not_submitted']));
  });
});
