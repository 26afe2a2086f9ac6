// A refused API key fails the job at the first chunk instead of failing every chunk in turn.
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage, readSmallText } from '../../src/storage/index.ts';
import { JOB_STATUS } from '../../common/search-attributes.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a refused API key', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // The worker's key (sk-test-not-a-secret) is not among the emulator's keys.
    env = await startJobEnv('auth', { apiKeys: ['sk-the-right-key'] });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('fails the job after one chunk, with the reason and what to fix, and writes the report', async () => {
    const inputUri = await writeChatInput(env, 300, { file: 'auth.jsonl' });
    const jobId = `auth-${Date.now()}`;
    const worker = await env.createWorker();
    const { err, status } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          endpoint: '/v1/chat/completions',
          inputUri,
          wait: FAST_WAIT,
          limits: { maxRequests: 100 },
          maxActiveBatches: 1,
        },
        { taskQueue: env.taskQueue },
      );
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const status = (await handle.describe()).typedSearchAttributes.get(JOB_STATUS);
      return { err, status };
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    const failure = cause as ApplicationFailure;
    expect(failure.type).toBe('OpenAIBatch.Auth');
    expect(failure.message).toContain('Incorrect API key provided: sk-…(redacted)');
    expect(failure.message).not.toContain('sk-test-not-a-secret');
    expect(failure.message).toContain('Fix OPENAI_API_KEY');
    expect(status).toBe('failed');
    // One upload was tried (not retried: a 401 is not transient); chunks 2 and 3 were never sent.
    expect(env.emulator.stats().callsPerRoute['files.create']).toBe(1);
    expect(env.emulator.stats().callsPerRoute['batches.create'] ?? 0).toBe(0);
    const summary = failure.details?.[0] as { resultsUri: string; reportUri: string; rows: number };
    expect(summary.rows).toBe(300);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(300);
    expect(statuses['succeeded'] ?? 0).toBe(0);
    const report = JSON.parse(await readSmallText(openStorage(env.storageRoot), summary.reportUri)) as {
      status: string;
    };
    expect(report.status).toBe('failed');
  });
});
