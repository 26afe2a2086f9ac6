// What a CLI user reads when something is wrong: one line (or a short report) naming the line, the
// field and the fix, in the CLI's own terms (flags, the file the user passed), never a stack trace.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { runCli, type ProcessOutput } from '../support/run-cli.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';

function expectNoStack(out: ProcessOutput): void {
  expect(out.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  expect(out.stderr).not.toMatch(/\.ts:\d+/);
}

describe('CLI messages for user mistakes', () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let cliEnv: Record<string, string>;
  let work: string;
  let input: string;

  beforeAll(async () => {
    env = await startJobEnv('cli-msgs', { rowsPerSecond: 'instant' });
    worker = await env.createWorker();
    running = worker.run();
    cliEnv = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    };
    work = join(env.dir, 'work');
    await mkdir(work, { recursive: true });
    input = join(work, 'reviews.jsonl');
    await writeReviewRequests(input, 5);
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  const cli = (...args: string[]): Promise<ProcessOutput> => runCli(args, { cwd: work, env: cliEnv });

  it('a misspelt flag gets one line with the flag it most likely meant, exit 2', async () => {
    const out = await cli('run', input, '--max-request-per-batch', '5');
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      'openai-batch run: unknown option --max-request-per-batch; did you mean --max-requests-per-batch?\n',
    );
  });

  it('a flag like no other gets one line pointing at --help', async () => {
    const out = await cli('list', '--frobnicate');
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      'openai-batch list: unknown option --frobnicate; run `openai-batch list --help` for the options\n',
    );
  });

  it('an empty input file is called empty, naming the file', async () => {
    const empty = join(work, 'empty.jsonl');
    await writeFile(empty, '\n\n');
    const out = await cli('run', empty);
    expect(out.code).toBe(2);
    expectNoStack(out);
    expect(out.stderr).toContain(`${empty} is empty`);
    expect(out.stderr).not.toContain('cannot tell the endpoint');
  });

  it('an input whose first line is not JSON names the line and the parse error', async () => {
    const notJson = join(work, 'not-json.jsonl');
    await writeFile(notJson, 'custom_id,text\nr1,hello\n');
    const out = await cli('submit', notJson);
    expect(out.code).toBe(2);
    expectNoStack(out);
    expect(out.stderr).toMatch(new RegExp(`${notJson} line 1 is not JSON \\(.+\\)`));
    expect(out.stderr).not.toContain('cannot tell the endpoint');
  });

  it('a bad line deep in the input names the file the user passed and the --on-invalid flag', async () => {
    const bad = join(work, 'bad.jsonl');
    const lines = (await readFile(input, 'utf8')).trim().split('\n');
    lines[3] = '{"custom_id": "x", bad';
    await writeFile(bad, lines.join('\n') + '\n');
    const out = await runCli(
      ['run', bad, '--job-id', `msgs-bad-${Date.now()}`, '--task-queue', `${env.taskQueue}-run`],
      {
        cwd: work,
        env: { TEMPORAL_ADDRESS: devServer().address, OPENAI_BASE_URL: env.emulator.baseURL, OPENAI_API_KEY: 'sk-x' },
      },
    );
    expect(out.code).toBe(2);
    expectNoStack(out);
    expect(out.stderr).toContain(`1 of 5 request lines in ${bad} are invalid`);
    expect(out.stderr).toContain('line 4: not valid JSON');
    expect(out.stderr).toContain('--on-invalid skip');
    expect(out.stderr).not.toContain("onInvalid: 'skip'");
    expect(out.stderr).not.toContain('.openai-batch');
  });

  it('extend-deadline on an ended job says the job has ended', async () => {
    const jobId = `msgs-ended-${Date.now()}`;
    const submitted = await cli(
      'submit',
      input,
      '--job-id',
      jobId,
      '--poll-min-seconds',
      '0.2',
      '--poll-max-seconds',
      '1',
    );
    expect(submitted.stdout.trim()).toBe(jobId);
    expect((await cli('watch', jobId)).code).toBe(0);
    for (const args of [
      ['--by', '2h'],
      ['--to', new Date(Date.now() + 3_600_000).toISOString()],
    ]) {
      const out = await cli('extend-deadline', jobId, ...args);
      expect(out.code).toBe(2);
      expectNoStack(out);
      expect(out.stderr).toContain(`job ${jobId} has ended (completed)`);
      expect(out.stderr).not.toContain('no deadline to extend');
    }
  });

  it('list starts with a header row', async () => {
    const jobId = `msgs-list-${Date.now()}`;
    await cli('submit', input, '--job-id', jobId, '--name', 'msgs-list', '--poll-min-seconds', '0.2');
    let out: ProcessOutput | undefined;
    // Visibility is eventually consistent.
    for (let i = 0; i < 40 && !out?.stdout.includes(jobId); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      out = await cli('list', '--name', 'msgs-list');
    }
    const [header, row] = out!.stdout.split('\n');
    expect(header).toMatch(/^JOB ID\s+STATUS\s+DONE\s+STARTED\s+NAME$/);
    expect(row).toContain(jobId);
  });
});
