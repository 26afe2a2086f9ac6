// A worker started with neither an API key nor a base URL cannot reach any OpenAI: its job fails at
// the first call with what to set, instead of retrying files.create against api.openai.com forever.
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { devServer } from '../support/temporal.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('a worker with no OpenAI API key and no base URL', () => {
  let env: JobEnv;
  const saved = { key: process.env['OPENAI_API_KEY'], url: process.env['OPENAI_BASE_URL'] };
  beforeAll(async () => {
    env = await startJobEnv('no-key');
    delete process.env['OPENAI_API_KEY'];
    delete process.env['OPENAI_BASE_URL'];
  });
  afterAll(async () => {
    if (saved.key !== undefined) process.env['OPENAI_API_KEY'] = saved.key;
    if (saved.url !== undefined) process.env['OPENAI_BASE_URL'] = saved.url;
    await env?.close();
  });

  // Unfixed, the job never ends (files.create retried without end): the bound turns that into a failure.
  it('fails the job at once, naming OPENAI_API_KEY and OPENAI_BASE_URL', { timeout: 90_000 }, async () => {
    const inputUri = await writeChatInput(env, 20, { file: 'no-key.jsonl' });
    const worker = await Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: env.taskQueue,
      plugins: [new OpenAIBatchPlugin({ storageRoot: env.storageRoot })],
    });
    const err = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId: `no-key-${Date.now()}`, endpoint: '/v1/chat/completions', inputUri, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('OpenAIBatch.Auth');
    expect(failure.message).toContain('OPENAI_API_KEY');
    expect(failure.message).toContain('OPENAI_BASE_URL');
    // Nothing reached the emulator (it is not the worker's OpenAI) and nothing else was tried.
    expect(env.emulator.stats().callsPerRoute['files.create'] ?? 0).toBe(0);
  });
});
