import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

function cli(args: string[], cwd: string, env: Record<string, string> = {}): ReturnType<typeof runCli> {
  return runCli(args, { cwd, env });
}

describe('openai-batch run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-run-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the review example on the emulator to one result per request and exits 0', async () => {
    const input = join(dir, 'reviews.jsonl');
    await writeReviewRequests(input, 300);
    const { code, stdout, stderr } = await cli(
      ['run', input, '--job-id', 'cli-reviews', '--name', 'reviews', '--task-queue', `cli-ok-${process.pid}`],
      dir,
      {
        TEMPORAL_ADDRESS: devServer().address,
      },
    );
    expect(stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(code).toBe(0);
    expect(stdout).toContain(`Temporal: ${devServer().address} (real, from TEMPORAL_ADDRESS)`);
    expect(stdout).toContain('OpenAI: embedded emulator');
    expect(stdout).toMatch(/job cli-reviews completed: 300 rows \(succeeded 300\)/);
    const resultsPath = /results: +(\S+)/.exec(stdout)?.[1];
    expect(resultsPath).toBe(join(dir, '.openai-batch', 'cli-reviews', 'results.jsonl'));
    const rows = (await readFile(resultsPath!, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; status: string });
    expect(new Set(rows.map((r) => r.custom_id)).size).toBe(300);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
  });

  it('refuses invalid input with one clear line naming the line, and no stack trace', async () => {
    const input = join(dir, 'bad.jsonl');
    await writeReviewRequests(input, 5);
    const lines = (await readFile(input, 'utf8')).trim().split('\n');
    lines[2] = '{"custom_id": "x", "method": "POST"';
    await writeFile(input, lines.join('\n') + '\n');
    const { code, stderr } = await cli(
      ['run', input, '--job-id', 'cli-bad', '--task-queue', `cli-bad-${process.pid}`],
      dir,
      { TEMPORAL_ADDRESS: devServer().address },
    );
    expect(code).toBe(2);
    expect(stderr).toContain('job cli-bad failed');
    expect(stderr).toMatch(/line 3/);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('explains a wrong flag value by its flag name', async () => {
    const input = join(dir, 'ok.jsonl');
    await writeReviewRequests(input, 2);
    const { code, stderr } = await cli(['run', input, '--max-rounds', 'zero'], dir, {
      TEMPORAL_ADDRESS: devServer().address,
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')[0]).toBe('openai-batch run: --max-rounds must be a number, got "zero"');
  });

  it('--on-invalid skip runs the valid lines, lists the refused ones as rejected, and exits 0', async () => {
    const input = join(dir, 'some-bad.jsonl');
    await writeReviewRequests(input, 20);
    const lines = (await readFile(input, 'utf8')).trim().split('\n');
    lines[3] = '{"custom_id": "bad-method", "method": "GET", "url": "/v1/chat/completions", "body": {}}';
    lines[7] = 'not json at all';
    await writeFile(input, lines.join('\n') + '\n');
    const { code, stdout, stderr } = await cli(
      ['run', input, '--job-id', 'cli-skip', '--on-invalid', 'skip', '--task-queue', `cli-skip-${process.pid}`],
      dir,
      {
        TEMPORAL_ADDRESS: devServer().address,
      },
    );
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(stdout).toMatch(/job cli-skip completed: 19 rows \(succeeded 18, rejected 1\)/);
    expect(stdout).toContain('rejected input lines: 2');
    expect(code).toBe(0);
    const rows = (await readFile(join(dir, '.openai-batch', 'cli-skip', 'results.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; status: string });
    expect(rows.filter((r) => r.status === 'rejected').map((r) => r.custom_id)).toEqual(['bad-method']);
    expect(new Set(rows.map((r) => r.custom_id)).size).toBe(19);
  });

  it('names a missing input file', async () => {
    const { code, stderr } = await cli(['run', join(dir, 'nope.jsonl')], dir);
    expect(code).toBe(2);
    expect(stderr).toContain(`input file not found: ${join(dir, 'nope.jsonl')}`);
  });
});
