import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findTemporalCli, TemporalCliNotFoundError } from '../../src/tools/devserver/find-temporal-cli.ts';
import { guardAgainstOrphan } from '../../src/tools/devserver/orphan-guard.ts';
import { startDevServer } from '../../src/tools/devserver/start-dev-server.ts';

const saved = { ...process.env };
let dir: string;

async function fakeBinary(path: string, script = '#!/bin/sh\nexit 0\n'): Promise<string> {
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provisioning-'));
  process.env['OPENAI_BATCH_CACHE_DIR'] = join(dir, 'cache');
  process.env['PATH'] = join(dir, 'empty-path');
  delete process.env['TEMPORAL_CLI_PATH'];
});
afterEach(() => {
  process.env = { ...saved };
});

describe('finding the Temporal CLI', () => {
  it('prefers an explicit path over PATH and the cache', async () => {
    const explicit = await fakeBinary(join(dir, 'explicit-temporal'));
    await mkdir(join(dir, 'bin'));
    await fakeBinary(join(dir, 'bin', 'temporal'));
    process.env['PATH'] = join(dir, 'bin');
    expect(await findTemporalCli({ explicitPath: explicit })).toEqual({ path: explicit, source: 'explicit' });
    process.env['TEMPORAL_CLI_PATH'] = explicit;
    expect((await findTemporalCli()).source).toBe('explicit');
  });

  it('takes `temporal` from PATH before the cache', async () => {
    await mkdir(join(dir, 'bin'));
    const onPath = await fakeBinary(join(dir, 'bin', 'temporal'));
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    await fakeBinary(join(dir, 'cache', 'bin', 'temporal'));
    process.env['PATH'] = join(dir, 'bin');
    expect(await findTemporalCli({ allowGoBuild: false })).toEqual({ path: onPath, source: 'path' });
  });

  it('falls back to the cache directory', async () => {
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    const cached = await fakeBinary(join(dir, 'cache', 'bin', 'temporal'));
    expect(await findTemporalCli({ allowGoBuild: false })).toEqual({ path: cached, source: 'cache' });
  });

  it('names every step it tried when nothing works', async () => {
    const err = await findTemporalCli({ explicitPath: join(dir, 'missing'), allowGoBuild: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TemporalCliNotFoundError);
    const attempts = (err as TemporalCliNotFoundError).attempts.join('\n');
    expect(attempts).toContain(`explicit path ${join(dir, 'missing')}: not an executable file`);
    expect(attempts).toContain('`temporal` on PATH: not found');
    expect(attempts).toContain(join(dir, 'cache', 'bin', 'temporal'));
    expect(attempts).toContain('go build: disabled');
    expect((err as Error).message).toContain('TEMPORAL_CLI_PATH');
  });

  it('reports a failed Go build with the tail of its output', async () => {
    await mkdir(join(dir, 'bin'));
    await fakeBinary(join(dir, 'bin', 'go'), '#!/bin/sh\necho "go: module lookup disabled" >&2\nexit 1\n');
    process.env['PATH'] = join(dir, 'bin');
    const err = await findTemporalCli().catch((e: unknown) => e);
    expect((err as TemporalCliNotFoundError).attempts.at(-1)).toMatch(/go build: exit 1: go: module lookup disabled/);
  });
});

describe('starting the dev server', () => {
  it('fails with the server output when the binary exits instead of serving', async () => {
    const broken = await fakeBinary(
      join(dir, 'temporal'),
      '#!/bin/sh\necho "bind: address already in use" >&2\nexit 3\n',
    );
    const err = await startDevServer({ cliPath: broken, allowDownload: false, readyTimeoutMs: 20_000 }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/exited \(3\) before it was ready/);
    expect(String(err)).toContain('bind: address already in use');
  });
});

describe('the orphan guard', () => {
  it('kills the server process group once its parent is gone', async () => {
    const parent = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
    const server = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      server.once('exit', (_code, signal) => resolve(signal)),
    );
    guardAgainstOrphan(server.pid!, parent.pid);
    parent.kill('SIGKILL');
    expect(await exited).toBe('SIGTERM');
  }, 30_000);
});
