import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chatLine,
  openEmulator,
  readJsonl,
  sdkClient,
  uploadBatchFile,
  waitForStatus,
} from './support/emulator-fixture.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  // A failed test must not leave an emulator process behind.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Starts `openai-batch emulator` as a real process and resolves with its base URL from the ready line. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; baseURL: string }> {
  const child = spawn(process.execPath, ['bin/openai-batch.js', 'emulator', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/v1)$/.exec(line);
    if (match) return { child, baseURL: match[1]! };
  }
  throw new Error('the emulator exited before it was ready');
}

async function stopCli(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

describe('state on disk', () => {
  it('an emulator restarted on the same state dir keeps files and batches and resumes progress from the clock', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'emulator-restart-'));
    dirs.push(stateDir);
    const config = { rowsPerSecond: 20, validatingSeconds: 0, finalizingSeconds: 0 } as const;
    const first = await openEmulator(config, stateDir);
    const ids = Array.from({ length: 40 }, (_, i) => `row-${i}`);
    const file = await uploadBatchFile(
      first.client,
      await first.writeJsonl(
        'restart.jsonl',
        ids.map((id) => chatLine(id)),
      ),
    );
    const batch = await first.client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { idempotency_key: 'restart-1' },
    });
    const running = await waitForStatus(first.client, batch.id, ['in_progress']);
    await first.close();

    // While it is down, the clock keeps running; the next process picks up from the timestamps.
    await new Promise((r) => setTimeout(r, 500));
    const second = await openEmulator(config, stateDir);
    try {
      const resumed = await second.client.batches.retrieve(batch.id);
      expect(resumed.created_at).toBe(running.created_at);
      expect(resumed.in_progress_at).toBe(running.in_progress_at);
      expect(resumed.request_counts!.completed).toBeGreaterThanOrEqual(running.request_counts!.completed);
      expect((await second.client.files.retrieve(file.id)).bytes).toBe(file.bytes);
      const done = await waitForStatus(second.client, batch.id, ['completed']);
      const output = await readJsonl<{ custom_id: string }>(second.client, done.output_file_id!);
      expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
      const stats = second.emulator.stats();
      expect(stats.batchesByIdempotencyKey['restart-1']).toBe(1);
      expect(stats.filesUploaded).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('the CLI prints its ready line, serves the SDK, stops cleanly on SIGTERM and SIGINT, and a restarted CLI keeps the state', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    dirs.push(stateDir);
    const configPath = join(stateDir, '..', `${stateDir.split('/').pop()}-config.json`);
    await writeFile(
      configPath,
      JSON.stringify({ rowsPerSecond: 'instant', validatingSeconds: 0, finalizingSeconds: 0 }),
    );
    dirs.push(configPath);

    const one = await startCli(['--port', '0', '--state-dir', stateDir, '--config', configPath]);
    children.push(one.child);
    const client = sdkClient(one.baseURL);
    const path = `${configPath}.input.jsonl`;
    await writeFile(path, [chatLine('a'), chatLine('b')].map((l) => JSON.stringify(l)).join('\n') + '\n');
    dirs.push(path);
    const file = await uploadBatchFile(client, path);
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await waitForStatus(client, batch.id, ['completed']);
    expect(await stopCli(one.child, 'SIGTERM')).toBe(0);

    const two = await startCli(['--state-dir', stateDir, '--config', configPath]);
    children.push(two.child);
    const again = await sdkClient(two.baseURL).batches.retrieve(batch.id);
    expect(again.status).toBe('completed');
    expect(again.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    expect(await stopCli(two.child, 'SIGINT')).toBe(0);
  });

  it('the CLI refuses a missing state dir and an invalid config file with exit code 2', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/openai-batch.js', 'emulator', ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    expect(await run([])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--state-dir is required') as string,
    });
    const bad = join(tmpdir(), `emulator-bad-config-${process.pid}.json`);
    await writeFile(bad, JSON.stringify({ rowsPerSecond: 'fast' }));
    dirs.push(bad);
    const result = await run(['--state-dir', join(tmpdir(), 'unused-emulator-state'), '--config', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rowsPerSecond');
  });
});
