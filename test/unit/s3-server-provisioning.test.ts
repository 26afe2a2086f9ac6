import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findS3Server, S3ServerNotFoundError } from '../../src/tools/devserver/find-s3-server.ts';
import { startS3Server } from '../../src/tools/devserver/start-s3-server.ts';

const saved = { ...process.env };
let dir: string;

async function fakeBinary(path: string, script = '#!/bin/sh\nexit 0\n'): Promise<string> {
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-provisioning-'));
  process.env['OPENAI_BATCH_CACHE_DIR'] = join(dir, 'cache');
  process.env['PATH'] = join(dir, 'empty-path');
  delete process.env['OPENAI_BATCH_MINIO_PATH'];
});
afterEach(async () => {
  process.env = { ...saved };
  await rm(dir, { recursive: true, force: true });
});

describe('finding the MinIO server binary', () => {
  it('prefers OPENAI_BATCH_MINIO_PATH, then PATH, then the cache', async () => {
    const explicit = await fakeBinary(join(dir, 'explicit-minio'));
    await mkdir(join(dir, 'bin'));
    const onPath = await fakeBinary(join(dir, 'bin', 'minio'));
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    const cached = await fakeBinary(join(dir, 'cache', 'bin', 'minio'));
    process.env['OPENAI_BATCH_MINIO_PATH'] = explicit;
    process.env['PATH'] = join(dir, 'bin');
    expect(await findS3Server({ allowGoBuild: false })).toEqual({ path: explicit, source: 'explicit' });
    delete process.env['OPENAI_BATCH_MINIO_PATH'];
    expect(await findS3Server({ allowGoBuild: false })).toEqual({ path: onPath, source: 'path' });
    process.env['PATH'] = join(dir, 'empty-path');
    expect(await findS3Server({ allowGoBuild: false })).toEqual({ path: cached, source: 'cache' });
  });

  it('names every step it tried, and the Go build it ran, when nothing works', async () => {
    await mkdir(join(dir, 'bin'));
    await fakeBinary(join(dir, 'bin', 'go'), '#!/bin/sh\necho "go: $* needs the module proxy" >&2\nexit 1\n');
    process.env['PATH'] = join(dir, 'bin');
    const err = await findS3Server({ explicitPath: join(dir, 'missing') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ServerNotFoundError);
    const attempts = (err as S3ServerNotFoundError).attempts.join('\n');
    expect(attempts).toContain(`explicit path ${join(dir, 'missing')}: not an executable file`);
    expect(attempts).toContain('`minio` on PATH: not found');
    expect(attempts).toContain(join(dir, 'cache', 'bin', 'minio'));
    expect(attempts).toMatch(/go build: exit 1: go: install github\.com\/minio\/minio@v0\.0\.0-\d{14}-[0-9a-f]{12}/);
    expect((err as Error).message).toContain('OPENAI_BATCH_MINIO_PATH');
  });
});

describe('starting the S3 server', () => {
  it('fails with the server output when the binary exits instead of serving', async () => {
    const broken = await fakeBinary(
      join(dir, 'minio'),
      '#!/bin/sh\necho "ERROR Unable to use the drive" >&2\nexit 1\n',
    );
    const err = await startS3Server({ binaryPath: broken, readyTimeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/MinIO exited \(1\) before it was ready/);
    expect(String(err)).toContain('Unable to use the drive');
  });
});
