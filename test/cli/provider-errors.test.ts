// `openai-batch run` against a provider that cannot run the job: one line naming the setting and the
// fix, exit 2 (a failed run, per the README), and nothing uploaded.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { runCli } from '../support/run-cli.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';

function uploads(env: JobEnv): number {
  const calls = env.emulator.stats().callsPerRoute;
  return (calls['files.create'] ?? 0) + (calls['uploads.create'] ?? 0);
}

describe('openai-batch run with a provider that cannot run the job', () => {
  let groq: JobEnv;
  let azure: JobEnv;
  beforeAll(async () => {
    groq = await startJobEnv('cli-groq', { provider: 'groq' });
    azure = await startJobEnv('cli-azure', { provider: 'azure', azure: { deployments: ['gpt-4o-batch'] } });
  });
  afterAll(async () => {
    await groq?.close();
    await azure?.close();
  });

  it('embeddings on Groq: exit 2 with one line naming the endpoint and what Groq offers', async () => {
    const work = join(groq.dir, 'work');
    await mkdir(work, { recursive: true });
    const input = join(work, 'embeddings.jsonl');
    const line = (i: number) =>
      JSON.stringify({ custom_id: `e-${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } });
    await writeFile(input, [0, 1, 2].map(line).join('\n') + '\n');
    const out = await runCli(['run', input, '--job-id', `cli-groq-${Date.now()}`, '--task-queue', groq.taskQueue], {
      cwd: work,
      env: {
        TEMPORAL_ADDRESS: devServer().address,
        OPENAI_BATCH_PROVIDER: 'groq',
        OPENAI_BASE_URL: groq.emulator.baseURL,
        OPENAI_API_KEY: 'gsk-not-a-secret',
      },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      "endpoint /v1/embeddings is not offered by Groq's Batch API (it offers /v1/chat/completions)",
    );
    expect(out.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(uploads(groq)).toBe(0);
  });

  it('a model that is no Azure batch deployment: exit 2 with one line naming the model', async () => {
    const work = join(azure.dir, 'work');
    await mkdir(work, { recursive: true });
    const input = join(work, 'reviews.jsonl');
    await writeReviewRequests(input, 5);
    const out = await runCli(['run', input, '--job-id', `cli-azure-${Date.now()}`, '--task-queue', azure.taskQueue], {
      cwd: work,
      env: {
        TEMPORAL_ADDRESS: devServer().address,
        OPENAI_BATCH_PROVIDER: 'azure',
        OPENAI_BATCH_AZURE_DEPLOYMENTS: 'gpt-4o-batch',
        OPENAI_BASE_URL: azure.emulator.baseURL,
        OPENAI_API_KEY: 'azure-key-not-a-secret',
      },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/body\.model "[^"]+" is not a batch deployment of this Azure OpenAI resource/);
    expect(out.stderr).not.toContain('azure-key-not-a-secret');
    expect(uploads(azure)).toBe(0);
  });
});
