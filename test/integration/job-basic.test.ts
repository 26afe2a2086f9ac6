import { WorkflowFailedError } from '@temporalio/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, iterateResults, startBatchJob } from '../../src/client/job-client.ts';
import { BATCH_IDS, JOB_PROGRESS, JOB_STATUS, MODEL } from '../../common/search-attributes.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

/** Every string and byte array (payload data decoded as UTF-8) of a history, joined. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return '';
}

describe('a job on the real dev server with the emulator', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('basic');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a 120,000-request job splits into 3 chunks and every custom_id appears exactly once in results.jsonl', async () => {
    const inputPath = await writeChatInput(env, 120_000);
    const jobId = `big-${Date.now()}`;
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri: inputPath,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 50_000 },
          maxActiveBatches: 3,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    expect(summary.rounds).toHaveLength(1);
    expect(summary.rounds[0]?.chunks).toBe(3);
    expect(summary.batchIds).toHaveLength(3);
    expect(summary.rows).toBe(120_000);
    expect(summary.counts.succeeded).toBe(120_000);

    const rows = await readJsonlFile<{
      custom_id: string;
      status: string;
      usage: { input: number; output: number } | null;
    }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(120_000);
    expect(ids.size).toBe(120_000);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(statuses).toEqual({ succeeded: 120_000 });

    // Token totals in the summary are the sums of the rows' usage.
    let input = 0;
    let output = 0;
    for (const row of rows) {
      input += row.usage?.input ?? 0;
      output += row.usage?.output ?? 0;
    }
    expect(input).toBeGreaterThan(0);
    expect(summary.usage.input).toBe(input);
    expect(summary.usage.output).toBe(output);

    const stats = env.emulator.stats();
    expect(stats.batchesCreated).toBe(3);
    expect(stats.filesUploaded).toBe(3);

    // iterateResults streams the same rows.
    let streamed = 0;
    for await (const row of iterateResults(summary, env.storageRoot)) if (row.status === 'succeeded') streamed += 1;
    expect(streamed).toBe(120_000);

    // Operators can find the job by its search attributes.
    const description = await env.conn.client.workflow.getHandle(jobId).describe();
    expect(description.typedSearchAttributes.get(JOB_STATUS)).toBe('completed');
    expect(description.typedSearchAttributes.get(JOB_PROGRESS)).toBe(100);
    expect(description.typedSearchAttributes.get(MODEL)).toBe('gpt-4o-mini');
    expect([...(description.typedSearchAttributes.get(BATCH_IDS) ?? [])].sort()).toEqual([...summary.batchIds].sort());

    // The files left at OpenAI expire by themselves (default 7 days): uploads and batch outputs.
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret' });
    const files = [];
    for await (const file of openai.files.list()) files.push(file);
    expect(files.filter((f) => f.purpose === 'batch')).toHaveLength(3);
    expect(files.filter((f) => f.purpose === 'batch_output').length).toBeGreaterThanOrEqual(3);
    for (const file of files) expect(file.expires_at, `${file.purpose} ${file.id}`).toBe(file.created_at + 604_800);

    // The API key stays on the worker: it is in no history of the job or its chunks.
    for (const id of [jobId, `${jobId}/r1/c0`, `${jobId}/r1/c1`, `${jobId}/r1/c2`]) {
      const history = await env.conn.client.workflow.getHandle(id).fetchHistory();
      expect(historyText(history)).toContain(jobId);
      expect(historyText(history)).not.toContain('sk-test-not-a-secret');
    }
  });

  it('invalid input with onInvalid "fail" fails the job before any upload, naming the lines', async () => {
    const inputPath = await writeChatInput(env, 20, {
      file: 'invalid.jsonl',
      lines: (i) =>
        i === 2
          ? '{not json'
          : i === 6
            ? JSON.stringify({ custom_id: 'req-6', method: 'GET', url: '/v1/chat/completions', body: {} })
            : undefined,
    });
    const before = env.emulator.stats();
    const worker = await env.createWorker();
    const failure = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId: `invalid-${Date.now()}`,
          inputUri: inputPath,
          endpoint: '/v1/chat/completions',
          onInvalid: 'fail',
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    const message = `${cause?.message ?? ''} ${(cause?.cause as Error | undefined)?.message ?? ''}`;
    expect(message).toMatch(/line 3\b/);
    expect(message).toMatch(/line 7\b/);
    const after = env.emulator.stats();
    expect(after.filesUploaded).toBe(before.filesUploaded);
    expect(after.batchesCreated).toBe(before.batchesCreated);
  });
});
