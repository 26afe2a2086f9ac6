// A cancel that reaches the job in the same workflow task as a chunk's report: the job must not
// "launch" the next chunk into a scope already cancelled (the SDK's startChild then issues no
// command), or that chunk's rows come out failed / chunk_ended instead of cancelled / not_submitted.
// test/support/cancel-with-report.ts puts both events in one task.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { cancelWithChunkReport } from '../support/cancel-with-report.ts';

interface Row {
  custom_id: string;
  status: string;
  error: { code?: string } | null;
}

describe('a cancel in the same job workflow task as a chunk report', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // 100 rows at 25 rows/s: chunk 0's batch runs for about 4 s.
    env = await startJobEnv('cancel-with-report', { rowsPerSecond: 25 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('records the chunk it had not started yet as cancelled / not_submitted, and starts no batch for it', async () => {
    const jobId = `cancel-with-report-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: 'cancel-with-report.jsonl' });
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri,
        endpoint: '/v1/chat/completions',
        limits: { maxRequests: 100 },
        maxActiveBatches: 1,
        wait: FAST_WAIT,
      },
      { taskQueue: env.taskQueue },
    );
    const outcome = await cancelWithChunkReport(env, handle, jobId);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId]).toBe(1);
    const rows = await readJsonlFile<Row>(env.storageRoot, openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'));
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(200);
    expect(statuses).toEqual({ succeeded: 100, cancelled: 100 });
    const chunk1 = rows.filter((r) => Number(r.custom_id.slice('req-'.length)) >= 100);
    expect(new Set(chunk1.map((r) => `${r.status}/${r.error?.code}`))).toEqual(new Set(['cancelled/not_submitted']));
  }, 300_000);
});
