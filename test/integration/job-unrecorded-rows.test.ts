// A chunk whose rows cannot be recorded (its file deleted while its batch ran, so every collect of
// it fails) must not leave the job looking complete: results.jsonl and the counts lack those rows.
// The job writes its report and fails, naming the chunk and why. Before, it ended `completed`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { deleteChunkInputOnceCreated } from '../support/delete-chunk-input.ts';

describe('a chunk whose rows cannot be recorded', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Rows take a few seconds, so the chunk's file can be deleted while its batch runs.
    env = await startJobEnv('unrecorded-rows', { rowsPerSecond: 5 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('fails the job after its report, naming the chunk, instead of completing without its rows', async () => {
    const jobId = `unrecorded-${Date.now()}`;
    const inputUri = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    // Two attempts per step on the job's files instead of ten: the collects give up in seconds.
    const worker = await env.createWorker({ jobFileAttempts: 2 });
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await deleteChunkInputOnceCreated(env, jobId);
      return await handle.result().then(
        (summary) => summary,
        (err: unknown) => err,
      );
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const cause = (outcome as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('OpenAIBatch.UnrecordedRows');
    expect((cause as ApplicationFailure).message).toMatch(/the rows of 1 chunk could not be recorded/);
    expect((cause as ApplicationFailure).message).toMatch(/first: round 1, chunk 0: /);
    const report = JSON.parse(await readFile(join(fileURLToPath(env.storageRoot), jobId, 'report.json'), 'utf8')) as {
      status: string;
      unrecordedChunks: number;
      rows: number;
    };
    expect(report.status).toBe('failed');
    expect(report.unrecordedChunks).toBe(1);
    expect(report.rows).toBe(0);
  });

  it('a cancelled job whose unstarted chunk cannot be recorded still ends cancelled, with its report naming it', async () => {
    const jobId = `unrecorded-cancel-${Date.now()}`;
    const inputUri = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    const worker = await env.createWorker({ jobFileAttempts: 2 });
    const outcome = await worker.runUntil(async () => {
      // Two chunks, one at a time: the second has not started when the job is cancelled.
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 10 },
          maxActiveBatches: 1,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      await deleteChunkInputOnceCreated(env, jobId);
      await handle.cancel();
      return await handle.result().then(
        (summary) => summary,
        (err: unknown) => err,
      );
    });
    // Before, the failed record of the unstarted chunk failed the job with no report.
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const report = JSON.parse(await readFile(join(fileURLToPath(env.storageRoot), jobId, 'report.json'), 'utf8')) as {
      status: string;
      unrecordedChunks: number;
      firstUnrecorded: string;
    };
    expect(report.status).toBe('cancelled');
    // The running chunk's collect failed too (its input is the same deleted snapshot).
    expect(report.unrecordedChunks).toBe(2);
    expect(report.firstUnrecorded).toMatch(/^round 1, chunk \d: /);
  });
});
