// `openai-batch cancel --wait` acts at once, whatever the poll settings, and the rows a cancel kept
// from being submitted say so (no budget wording, no null batch id).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { runCli } from '../support/run-cli.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import { until } from '../support/until.ts';

interface ResultRow {
  custom_id: string;
  status: string;
  batch_ids: (string | null)[];
  error: { code: string; message: string } | null;
}

describe('cancel through the CLI', () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let cliEnv: Record<string, string>;
  let input: string;

  beforeAll(async () => {
    // A batch takes a few seconds to cancel, as at OpenAI (where it can take minutes).
    env = await startJobEnv('cli-cancel', { rowsPerSecond: 0.4, cancellingSeconds: 3 });
    worker = await env.createWorker();
    running = worker.run();
    cliEnv = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    };
    await mkdir(join(env.dir, 'work'), { recursive: true });
    input = join(env.dir, 'work', 'reviews.jsonl');
    await writeReviewRequests(input, 30);
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli(args, { cwd: env.dir, env: cliEnv });

  it('cancel --wait ends a job at once even with 10-minute polls, and unsubmitted rows say the cancel kept them back', async () => {
    const jobId = `cancel-now-${Date.now()}`;
    // Polls 10 minutes apart: a cancel that waited for the next poll would outlast this test.
    const submitted = await cli(
      'submit',
      input,
      '--job-id',
      jobId,
      '--max-requests-per-batch',
      '10',
      '--max-active-batches',
      '1',
      '--poll-min-seconds',
      '600',
      '--poll-max-seconds',
      '600',
      '--validating-poll-seconds',
      '0.2',
    );
    expect(submitted.stderr).toBe('');
    await until('the first batch to run', () =>
      Promise.resolve((env.emulator.stats().batchesByStatus['in_progress'] ?? 0) > 0),
    );
    // A batch some seconds old: a schedule that ran from its creation would wait that long again.
    await new Promise((r) => setTimeout(r, 12_000));
    const started = Date.now();
    const cancelled = await cli('cancel', jobId, '--wait');
    const seconds = (Date.now() - started) / 1000;
    console.log(`cancel --wait took ${seconds.toFixed(1)} s`);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`job ${jobId}: CANCELLED`);
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBe(1);

    const results = await cli('results', jobId);
    const rows = results.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResultRow);
    expect(rows).toHaveLength(30);
    const unsubmitted = rows.filter((r) => r.error?.code === 'not_submitted');
    // Chunks 2 and 3 never reached OpenAI.
    expect(unsubmitted).toHaveLength(20);
    for (const row of unsubmitted) {
      expect(row.status).toBe('cancelled');
      expect(row.batch_ids).toEqual([]);
      expect(row.error?.message).not.toContain('budget');
      expect(row.error?.message).toContain('cancelled');
    }
    for (const row of rows.filter((r) => r.error?.code !== 'not_submitted')) {
      expect(row.batch_ids).toHaveLength(1);
      expect(row.batch_ids[0]).toMatch(/^batch_/);
    }
  });
});
