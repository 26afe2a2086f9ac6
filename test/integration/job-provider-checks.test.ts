// A configuration the provider cannot run gives one clear line before anything is uploaded: an
// endpoint it does not offer, a chunk limit above its own, a model that is no Azure batch
// deployment, and the AzureOpenAI `deployment` pitfall (batches sent under /deployments/{d}). A model
// Azure refuses only at validation (the worker was not told the deployments) fails its rows with
// one line naming the model and the fix.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { OpenAIBatchPlugin, type OpenAIBatchPluginOptions } from '../../src/plugin.ts';
import type { StartJobInput } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

/** The messages down a failure's cause chain, joined. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' <- ');
}

/** Runs a job that must fail; returns the failure's messages and what the emulator saw uploaded. */
async function failingJob(
  env: JobEnv,
  name: string,
  plugin: Partial<OpenAIBatchPluginOptions>,
  job: Partial<StartJobInput> & { model?: string; embeddings?: boolean } = {},
) {
  const { model, embeddings, ...rest } = job;
  const inputUri = await writeChatInput(env, 10, {
    file: `${name}.jsonl`,
    ...(model ? { model } : {}),
    ...(embeddings
      ? {
          lines: (i) =>
            JSON.stringify({
              custom_id: `e-${i}`,
              method: 'POST',
              url: '/v1/embeddings',
              body: { model: 'm', input: 'x' },
            }),
        }
      : {}),
  });
  const worker = await env.createWorker(plugin);
  const jobId = `checks-${name}-${Date.now()}`;
  const err = await worker.runUntil(async () => {
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri,
        endpoint: embeddings ? '/v1/embeddings' : '/v1/chat/completions',
        wait: FAST_WAIT,
        ...rest,
      },
      { taskQueue: env.taskQueue },
    );
    return await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
  });
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const calls = env.emulator.stats().callsPerRoute;
  // What the failed plan left in the job's folder (the round's chunk files, a snapshot).
  const round1 = join(fileURLToPath(env.storageRoot), jobId, 'r1');
  const left = await readdir(round1).catch(() => []);
  return {
    message: messages(err),
    uploads: (calls['files.create'] ?? 0) + (calls['uploads.create'] ?? 0),
    snapshots: left.filter((f) => /^input-a\d+\.jsonl$/.test(f)),
  };
}

describe('checks before submission (Groq)', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('checks-groq', { provider: 'groq' });
  });
  afterAll(async () => env?.close());

  it('an endpoint Groq does not offer fails the job naming it, with nothing uploaded', async () => {
    const { message, uploads } = await failingJob(
      env,
      'groq-endpoint',
      { provider: 'groq', openaiBaseUrl: env.emulator.baseURL },
      { embeddings: true },
    );
    expect(message).toContain(
      "endpoint /v1/embeddings is not offered by Groq's Batch API (it offers /v1/chat/completions); use one of those",
    );
    expect(uploads).toBe(0);
  });

  it("a chunk limit above Groq's fails the job naming the limit, with nothing uploaded", async () => {
    const { message, uploads } = await failingJob(
      env,
      'groq-limit',
      { provider: 'groq', openaiBaseUrl: env.emulator.baseURL },
      { limits: { maxRequests: 60_000 } },
    );
    expect(message).toContain('limits.maxRequests is 60000 but Groq accepts at most 50000 per batch');
    expect(uploads).toBe(0);
  });
});

describe('checks before submission (Azure)', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('checks-azure', { provider: 'azure', azure: { deployments: ['gpt-4o-batch'] } });
  });
  afterAll(async () => env?.close());

  it('a model that is not one of the batch deployments the worker knows fails the job naming it, with nothing uploaded', async () => {
    const { message, uploads, snapshots } = await failingJob(
      env,
      'azure-model',
      { provider: 'azure', openaiBaseUrl: env.emulator.baseURL, azure: { batchDeployments: ['gpt-4o-batch'] } },
      { model: 'gpt-4o-mini' },
    );
    expect(message).toContain('body.model "gpt-4o-mini" is not a batch deployment of this Azure OpenAI resource');
    expect(uploads).toBe(0);
    // The check runs after the plan: the plan's snapshot of the input is not left behind.
    expect(snapshots).toEqual([]);
  });

  it('a model that is no batch deployment, on a worker not told them, fails its rows with one line naming it and the fix', async () => {
    const inputUri = await writeChatInput(env, 10, { file: 'azure-unknown-model.jsonl', model: 'gpt-4o-mini' });
    const worker = await env.createWorker({ provider: 'azure', openaiBaseUrl: env.emulator.baseURL });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId: `checks-azure-unknown-${Date.now()}`, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.counts.failed).toBe(10);
    const failures = await readJsonlFile<{ error: { code: string; message: string } }>(
      env.storageRoot,
      summary.failuresUri,
    );
    expect(failures).toHaveLength(10);
    for (const row of failures) {
      expect(row.error.code).toBe('model_not_found');
      expect(row.error.message).toMatch(
        /^body\.model "gpt-4o-mini" is not a batch deployment of this Azure OpenAI resource: set each line's model to the name of a Global-Batch or Data-Zone-Batch deployment/,
      );
    }
  });

  it('an AzureOpenAI client with a deployment, or a base URL under /deployments/, is refused as the worker is built', () => {
    const uploadsBefore = env.emulator.stats().callsPerRoute['files.create'] ?? 0;
    const withDeployment = new AzureOpenAI({
      baseURL: `${env.emulator.origin}/openai`,
      apiVersion: '2025-03-01-preview',
      apiKey: 'k',
      deployment: 'gpt-4o-batch',
    });
    expect(() => new OpenAIBatchPlugin({ storageRoot: env.storageRoot, openai: withDeployment })).toThrow(
      /^the plugin was given an AzureOpenAI client with a `deployment`, which sends batches to \/deployments\/\{deployment\}\/batches/,
    );
    expect(
      () =>
        new OpenAIBatchPlugin({
          storageRoot: env.storageRoot,
          provider: 'azure',
          openaiApiKey: 'k',
          openaiBaseUrl: `${env.emulator.origin}/openai/deployments/gpt-4o-batch`,
        }),
    ).toThrow(/^the Azure OpenAI base URL has a \/deployments\/ segment/);
    expect(env.emulator.stats().callsPerRoute['files.create'] ?? 0).toBe(uploadsBefore);
  });
});
