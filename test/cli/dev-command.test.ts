// `openai-batch dev` is local development in one command: a dev server with its UI, the emulator
// (no key, no base URL set) and a worker wired to both. A job submitted to it from another terminal
// finishes; Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { readmeBlockAfter } from '../support/readme-blocks.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

const bin = fileURLToPath(new URL('../../bin/openai-batch.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The README's "Local development" commands after `dev`, as CLI arguments: continuation lines
 * joined, comments and the `TEMPORAL_ADDRESS=... npx openai-batch` prefix dropped.
 */
function readmeLocalDevCommands(): string[][] {
  const block = readmeBlockAfter('doc-test: local-dev').replace(/\\\n\s*/g, ' ');
  const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
  expect(lines[0]).toBe('npx openai-batch dev');
  return lines
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const words = line.split(/\s+/);
      expect(words.slice(0, 3)).toEqual(['TEMPORAL_ADDRESS=127.0.0.1:7233', 'npx', 'openai-batch']);
      return words.slice(3);
    });
}
const CLEAN_ENV = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', OPENAI_BATCH_STORAGE_ROOT: '', TEMPORAL_ADDRESS: '' };

/** A long-running CLI process whose output the test reads as it comes. */
class Running {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, ...CLEAN_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }
  async waitFor(text: string): Promise<void> {
    let done = false;
    void this.exited.then(() => (done = true));
    while (!this.stdout.includes(text)) {
      if (done) throw new Error(`exited before printing "${text}":\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('openai-batch dev', () => {
  let dir: string;
  let dev: Running | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-dev-'));
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('starts a dev server, the emulator and a worker; a submitted job completes; Ctrl-C stops it', async () => {
    const input = join(dir, 'reviews.jsonl');
    await writeReviewRequests(input, 50);
    dev = new Running(['dev', '--task-queue', `cli-dev-${process.pid}`], dir);
    await dev.waitFor('Ctrl-C');
    const address = /Temporal: embedded dev server at (\S+),/.exec(dev.stdout)?.[1];
    expect(address).toBeDefined();
    expect(dev.stdout).toMatch(/Web UI http:\/\/\S+/);
    expect(dev.stdout).toMatch(/OpenAI: embedded emulator at http:\/\/127\.0\.0\.1:\d+\/v1/);
    // It says how to submit a job, with the poll settings that suit the emulator.
    const submitLine = dev.stdout.split('\n').find((l) => l.includes('openai-batch submit'));
    expect(submitLine).toContain(`TEMPORAL_ADDRESS=${address}`);
    expect(submitLine).toContain('--poll-min-seconds 1');

    const env = { TEMPORAL_ADDRESS: address!, OPENAI_BATCH_TASK_QUEUE: `cli-dev-${process.pid}` };
    const submitted = await runCli(['submit', input, '--job-id', 'dev-job', '--poll-min-seconds', '1'], {
      cwd: dir,
      env,
    });
    expect(submitted.stderr).toBe('');
    expect(submitted.stdout.trim()).toBe('dev-job');
    const watched = await runCli(['watch', 'dev-job'], { cwd: dir, env });
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('job dev-job: COMPLETED');
    const status = JSON.parse((await runCli(['status', 'dev-job', '--json'], { cwd: dir, env })).stdout) as {
      summary: { counts: Record<string, number> };
    };
    expect(status.summary.counts['succeeded']).toBe(50);

    // The README's commands as written (its example input, its poll flags), in the same directory.
    const [submit, watch] = readmeLocalDevCommands() as [string[], string[]];
    const asWritten = submit.map((w) => (w === 'examples/reviews/reviews.jsonl' ? join(repoRoot, w) : w));
    const readmeSubmit = await runCli(asWritten, { cwd: dir, env });
    expect(readmeSubmit.stderr).toBe('');
    expect(readmeSubmit.stdout.trim()).toBe('my-job');
    const readmeWatch = await runCli(watch, { cwd: dir, env });
    expect(readmeWatch.code).toBe(0);
    expect(readmeWatch.stdout).toContain('job my-job: COMPLETED');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });

  it('uses the OpenAI of OPENAI_BASE_URL instead of starting an emulator', async () => {
    const out = await runCli(['dev', '--once'], {
      cwd: dir,
      env: { TEMPORAL_ADDRESS: devServer().address, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('OpenAI: http://127.0.0.1:9/v1 (from OPENAI_BASE_URL)');
    expect(out.stdout).not.toContain('embedded emulator');
  });
});

describe('openai-batch worker', () => {
  it('with no OPENAI_API_KEY and no OPENAI_BASE_URL refuses to start, in one line', { timeout: 60_000 }, async () => {
    const out = await runCli(['worker'], { cwd: tmpdir(), env: { TEMPORAL_ADDRESS: devServer().address } });
    expect(out.code).toBe(2);
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^openai-batch worker: no OPENAI_API_KEY and no OPENAI_BASE_URL/);
    expect(out.stderr).toContain('openai-batch dev');
    expect(out.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });
});
