// Without a `jobId`, the workflow id is the job's id: it names the job's storage folder and starts
// every idempotency key. Unchecked, a 600-character one broke the job: on file storage its folder
// name is too long (ENAMETOOLONG, retried for ever while planning); where it fits, OpenAI keeps
// metadata values of at most 512 characters, so a key cut there no longer equals the key a retry
// searches for (a create whose answer was lost is not found, and a second batch is made).
// A workflow id that could not be a jobId is refused at start, as such a jobId is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { JobInputError } from '../../src/client/job-input-schema.ts';
import { FAST_CREATE_TIMING, FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('a workflow id used as the job id', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('long-workflow-id');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a workflow id longer than a job id may be is refused at start, naming workflowId: no batch is made', async () => {
    const inputUri = await writeChatInput(env, 20, { file: 'long-workflow-id.jsonl' });
    const workflowId = `long-${'x'.repeat(600)}-${Date.now()}`;
    // The first create is carried out and its answer lost: the retry must find it by its key.
    env.emulator.setConfig({ faults: { 'batches.create': { dropAfterHandling: 1 } } });
    const worker = await env.createWorker({ createBatchTiming: FAST_CREATE_TIMING });
    const outcome = await worker.runUntil(async () => {
      let started: Awaited<ReturnType<typeof startBatchJob>>;
      try {
        started = await startBatchJob(
          env.conn.client,
          { inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
          { taskQueue: env.taskQueue, workflowId },
        );
      } catch (err) {
        return err;
      }
      // Not refused (the defect): let the job run, and say how many batches it made for its one chunk.
      await until('the first create to be carried out', () =>
        Promise.resolve(env.emulator.stats().batchesCreated >= 1),
      );
      env.emulator.setConfig({ faults: { 'batches.create': null } });
      const summary = await started.result();
      return { status: summary.status, batchesForOneChunk: env.emulator.stats().batchesCreated };
    });
    expect(outcome).toBeInstanceOf(JobInputError);
    const issues = (outcome as JobInputError).issues;
    expect(issues.map((i) => i.path)).toEqual(['workflowId']);
    expect(issues[0]?.message).toMatch(/200/);
    expect(env.emulator.stats().batchesCreated).toBe(0);
  });
});
