import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { listQuery } from '../../src/tools/cli/commands/list.ts';
import { runCli } from '../support/run-cli.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';

describe('the operator commands against a real dev server, worker and emulator', () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let cliEnv: Record<string, string>;
  let input: string;

  beforeAll(async () => {
    env = await startJobEnv('cli-ops', { rowsPerSecond: 'instant' });
    worker = await env.createWorker();
    running = worker.run();
    cliEnv = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    };
    await mkdir(join(env.dir, 'work'), { recursive: true });
    input = join(env.dir, 'work', 'reviews.jsonl');
    await writeReviewRequests(input, 40);
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli(args, { cwd: env.dir, env: cliEnv });

  it('submit, watch, status, results and list a job end to end', async () => {
    const jobId = `ops-${Date.now()}`;
    const submitted = await cli(
      'submit',
      input,
      '--job-id',
      jobId,
      '--name',
      'nightly-reviews',
      '--poll-min-seconds',
      '0.2',
      '--poll-max-seconds',
      '1',
    );
    expect(submitted.stderr).toBe('');
    expect(submitted.stdout.trim()).toBe(jobId);

    const watched = await cli('watch', jobId);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain(`job ${jobId}: COMPLETED`);

    const status = await cli('status', jobId, '--json');
    const described = JSON.parse(status.stdout) as {
      status: string;
      summary: { rows: number; counts: Record<string, number>; batchIds: string[] };
    };
    expect(described.status).toBe('COMPLETED');
    expect(described.summary.rows).toBe(40);
    expect(described.summary.counts['succeeded']).toBe(40);

    const results = await cli('results', jobId, '--status', 'succeeded');
    const rows = results.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string });
    expect(new Set(rows.map((r) => r.custom_id)).size).toBe(40);
    const none = await cli('results', jobId, '--status', 'failed');
    expect(none.stdout).toBe('');

    // Visibility is eventually consistent: give the search attributes a moment to be indexed.
    const batchId = described.summary.batchIds[0]!;
    let byBatch = '';
    for (let i = 0; i < 20 && !byBatch.includes(jobId); i++) {
      byBatch = (await cli('list', '--batch-id', batchId)).stdout;
      if (!byBatch.includes(jobId)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(byBatch).toContain(jobId);
    expect((await cli('list', '--name', 'nightly-reviews')).stdout).toContain(jobId);
    expect((await cli('list', '--batch-id', 'batch_does_not_exist')).stdout).toContain('no jobs match');
  });

  it('cancel reaches the OpenAI batch and the job ends cancelled with its report', async () => {
    env.emulator.setConfig({ rowsPerSecond: 2 });
    const jobId = `ops-cancel-${Date.now()}`;
    await cli('submit', input, '--job-id', jobId, '--poll-min-seconds', '0.2', '--poll-max-seconds', '1');
    // Wait until the batch exists and runs.
    for (let i = 0; i < 60 && (env.emulator.stats().batchesByStatus['in_progress'] ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    const cancelled = await cli('cancel', jobId, '--wait');
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`job ${jobId}: CANCELLED`);
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBeGreaterThanOrEqual(1);
    const report = await cli('results', jobId, '--report');
    expect(JSON.parse(report.stdout)).toHaveProperty('counts');
  });

  it("submit with the id of a running job is refused before that job's input file is touched", async () => {
    env.emulator.setConfig({ rowsPerSecond: 2 });
    const jobId = `ops-same-id-${Date.now()}`;
    try {
      expect((await cli('submit', input, '--job-id', jobId, '--poll-min-seconds', '0.2')).code).toBe(0);
      const copies = async (): Promise<string[]> =>
        (await readdir(join(env.dir, 'storage', jobId))).filter((f) => /^input-[0-9a-f]+\.jsonl$/.test(f));
      const [stored] = await copies();
      expect(stored).toBeDefined();
      const before = await readFile(join(env.dir, 'storage', jobId, stored as string), 'utf8');
      expect(before).toBe(await readFile(input, 'utf8'));
      const other = join(env.dir, 'work', 'other.jsonl');
      await writeReviewRequests(other, 5);
      const again = await cli('submit', other, '--job-id', jobId);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`job ${jobId} is running: a job id names one job at a time`);
      expect(again.stderr).toContain('pick another --job-id');
      // Refused before any copy: the running job's input is its one copy, unchanged.
      expect(await copies()).toEqual([stored]);
      expect(await readFile(join(env.dir, 'storage', jobId, stored as string), 'utf8')).toBe(before);
      expect((await cli('cancel', jobId, '--wait')).code).toBe(0);
    } finally {
      env.emulator.setConfig({ rowsPerSecond: 'instant' });
    }
  });

  it("extend-deadline moves a running job's deadline; retry says why it refuses", async () => {
    env.emulator.setConfig({ rowsPerSecond: 2 });
    const jobId = `ops-updates-${Date.now()}`;
    const deadline = new Date(Date.now() + 3_600_000);
    await cli(
      'submit',
      input,
      '--job-id',
      jobId,
      '--deadline',
      deadline.toISOString(),
      '--poll-min-seconds',
      '0.2',
      '--poll-max-seconds',
      '1',
    );
    for (let i = 0; i < 60 && (env.emulator.stats().batchesByStatus['in_progress'] ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    try {
      const extended = await cli('extend-deadline', jobId, '--by', '2h');
      expect(extended.stderr).toBe('');
      expect(extended.stdout.trim()).toBe(
        `job ${jobId}: deadline moved from ${deadline.toISOString()} to ${new Date(deadline.getTime() + 7_200_000).toISOString()}; 1 running chunk(s) told`,
      );
      const retry = await cli('retry', jobId);
      expect(retry.code).toBe(2);
      expect(retry.stderr).toContain(
        `retry refused by job ${jobId}: no finished chunk has retryable rows yet (1 chunk still running)`,
      );
      expect(retry.stderr).not.toMatch(/\n\s+at /);
      const earlier = await cli('extend-deadline', jobId, '--to', deadline.toISOString());
      expect(earlier.code).toBe(2);
      expect(earlier.stderr).toContain('must be later than the current one');
      const neither = await cli('extend-deadline', jobId);
      expect(neither.stderr).toContain('give either --to <iso-date> or --by <duration>');
      const badBy = await cli('extend-deadline', jobId, '--by', 'soon');
      expect(badBy.stderr).toContain('--by "soon" is not a duration like 90m, 2h or 1d');
    } finally {
      await cli('cancel', jobId, '--wait');
      env.emulator.setConfig({ rowsPerSecond: 'instant' });
    }
  });

  it('schedule create, list, describe, pause, unpause and delete', async () => {
    const id = `nightly-${Date.now()}`;
    const created = await cli(
      'schedule',
      'create',
      id,
      '--input',
      input,
      '--cron',
      '0 2 * * *',
      '--overlap',
      'buffer_one',
      '--catchup-window',
      '2h',
      '--paused',
      '--name',
      'nightly',
    );
    expect(created.stderr).toBe('');
    expect((await cli('schedule', 'list')).stdout).toContain(id);
    const described = JSON.parse((await cli('schedule', 'describe', id)).stdout) as {
      paused: boolean;
      overlap: string;
      catchupWindowMs: number;
    };
    expect(described).toMatchObject({ paused: true, overlap: 'BUFFER_ONE', catchupWindowMs: 7_200_000 });
    await cli('schedule', 'unpause', id, '--note', 'go');
    expect((JSON.parse((await cli('schedule', 'describe', id)).stdout) as { paused: boolean }).paused).toBe(false);
    await cli('schedule', 'pause', id);
    expect((JSON.parse((await cli('schedule', 'describe', id)).stdout) as { paused: boolean }).paused).toBe(true);
    expect((await cli('schedule', 'delete', id)).stdout).toContain('deleted');
    const gone = await cli('schedule', 'describe', id);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`no schedule with id "${id}"`);
  });

  it('rejects bad schedule options with one line naming the option', async () => {
    const both = await cli('schedule', 'create', 'x', '--input', input, '--cron', '0 2 * * *', '--every', '24h');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --cron or --every');
    const overlap = await cli('schedule', 'create', 'x', '--input', input, '--every', '24h', '--overlap', 'sometimes');
    expect(overlap.stderr).toContain('--overlap must be one of skip, buffer_one, buffer_all, cancel_other, allow_all');
  });

  it('builds visibility queries that quote user values', () => {
    expect(listQuery({ status: 'running', batchId: "b'1" })).toBe(
      "WorkflowType = 'openAIBatchJob' AND OpenAIBatchJobStatus = 'running' AND OpenAIBatchIds = 'b\\'1'",
    );
  });
  it('status and watch of a submitted job that failed on a bad line name the file the user passed', async () => {
    const bad = join(env.dir, 'work', 'submitted-bad.jsonl');
    const lines = (await readFile(input, 'utf8')).trim().split('\n');
    lines[2] = '{"custom_id": "x", bad';
    await writeFile(bad, lines.join('\n') + '\n');
    const jobId = `ops-bad-${Date.now()}`;
    const submitted = await cli('submit', bad, '--job-id', jobId);
    expect(submitted.stdout.trim()).toBe(jobId);
    const watched = await cli('watch', jobId);
    expect(watched.code).toBe(1);
    const status = await cli('status', jobId);
    expect(status.code).toBe(1);
    for (const out of [watched.stdout, status.stdout]) {
      expect(out).toContain(`request lines in ${bad} are invalid`);
      expect(out).toContain('line 3: not valid JSON');
      expect(out).toContain('--on-invalid skip');
      expect(out).not.toContain("onInvalid: 'skip'");
    }
  });
});
