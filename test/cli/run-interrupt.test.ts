// `openai-batch run` in a real terminal (tmux): Ctrl-C asks whether to cancel the job or leave it
// running, and each answer does what it says.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { startEmulator } from '../../src/tools/emulator/index.ts';
import { connectToDevServer, devServer } from '../support/temporal.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/openai-batch.js', import.meta.url));
const PROMPT = 'Cancel the job (its OpenAI batches are cancelled, done rows kept)? [c]ancel / [l]eave running:';

/** One tmux server of our own (its own socket), so that nothing touches a developer's sessions. */
class Terminal {
  readonly socket = `oab-test-${process.pid}`;
  async tmux(...args: string[]): Promise<string> {
    return (await run('tmux', ['-L', this.socket, ...args])).stdout;
  }
  async start(name: string, command: string): Promise<void> {
    await this.tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '40', command);
  }
  async screen(name: string): Promise<string> {
    return await this.tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', name);
  }
  async waitFor(name: string, text: string | RegExp, timeoutMs = 90_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen(name);
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > end) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

describe('Ctrl-C during `openai-batch run` in a terminal', () => {
  let dir: string;
  let input: string;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  const term = new Terminal();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-interrupt-'));
    input = join(dir, 'reviews.jsonl');
    await writeReviewRequests(input, 200);
    // Slow enough that the job is mid-batch when Ctrl-C arrives.
    emulator = await startEmulator({
      port: 0,
      stateDir: join(dir, 'emulator'),
      config: { rowsPerSecond: 2, validatingSeconds: 0.2, cancellingSeconds: 0.2, finalizingSeconds: 0.2 },
    });
  });
  afterAll(async () => {
    await term.close();
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function command(jobId: string): string {
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      OPENAI_BASE_URL: emulator.baseURL,
      OPENAI_API_KEY: 'sk-test-not-a-secret',
      OPENAI_BATCH_STORAGE_ROOT: '',
    };
    const exports = Object.entries(env)
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    const args = [
      'run',
      input,
      '--job-id',
      jobId,
      '--task-queue',
      `interrupt-${jobId}`,
      '--poll-min-seconds',
      '0.2',
      '--poll-max-seconds',
      '1',
    ];
    // The shell stays after the CLI exits, so that its exit code can be read off the screen.
    return `cd ${shellQuote(dir)} && env ${exports} ${shellQuote(process.execPath)} ${shellQuote(bin)} ${args.map(shellQuote).join(' ')}; echo "EXIT=$?"; sleep 600`;
  }

  it('"c" cancels the job: its batch is cancelled, the report written, and run exits 1', async () => {
    const jobId = `interrupt-cancel-${Date.now()}`;
    await term.start('cancel', command(jobId));
    await term.waitFor('cancel', `job ${jobId} started`);
    // Against a non-emulator URL the job keeps its 2-hour progress refresh, so "in_progress" and
    // the row count come from the chunk's latest poll (getLiveJobProgress), not from the job.
    await term.waitFor('cancel', /r1\/c0 batch_\w+ in_progress [1-9]\d*\/200/);
    await term.tmux('send-keys', '-t', 'cancel', 'C-c');
    await term.waitFor('cancel', PROMPT);
    await term.tmux('send-keys', '-t', 'cancel', 'c', 'Enter');
    const screen = await term.waitFor('cancel', /EXIT=\d+/);
    expect(screen).toContain('cancelling: the OpenAI batches are being cancelled and the done rows collected...');
    expect(screen).toMatch(new RegExp(`job ${jobId} cancelled: \\d+ rows \\(`));
    expect(screen).toContain('report:');
    expect(screen).toContain('EXIT=1');
    expect(screen).not.toMatch(/\n\s+at /);
    expect(emulator.stats().batchesByStatus['cancelled']).toBeGreaterThanOrEqual(1);
  });

  it('"l" leaves the job running on the server and says how to follow it', async () => {
    const jobId = `interrupt-leave-${Date.now()}`;
    await term.start('leave', command(jobId));
    await term.waitFor('leave', /r1\/c0 batch_\w+ in_progress/);
    await term.tmux('send-keys', '-t', 'leave', 'C-c');
    await term.waitFor('leave', PROMPT);
    await term.tmux('send-keys', '-t', 'leave', 'l', 'Enter');
    const screen = await term.waitFor('leave', /EXIT=\d+/);
    expect(screen).toContain(`left job ${jobId} running.`);
    expect(screen).toContain(`openai-batch status ${jobId}`);
    expect(screen).toContain('EXIT=1');
    const conn = await connectToDevServer();
    try {
      const handle = conn.client.workflow.getHandle(jobId);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      // Nobody serves its task queue any more; end it so that the run leaves nothing behind.
      await handle.terminate('test cleanup');
    } finally {
      await conn.close();
    }
  });
});
