// Finders that meet a missing binary at the same time build it once: the others wait for that
// build instead of starting their own `go install` (a cold machine ran four at once). `go` here is
// a script standing in for the compiler; what is under test is the finders' lock, not Go.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findGoBinary, type GoBinarySpec } from '../../src/tools/devserver/find-go-binary.ts';

const spec: GoBinarySpec = {
  name: 'lock-test-server',
  envVar: 'LOCK_TEST_SERVER_PATH',
  goPackage: 'example.com/lock-test-server',
  version: 'v0.0.1',
  buildNotice: () => 'building',
};

describe('one Go build at a time', () => {
  let dir: string;
  let saved: NodeJS.ProcessEnv;
  beforeEach(async () => {
    saved = { ...process.env };
    dir = await mkdtemp(join(tmpdir(), 'go-build-lock-'));
    const fakeBin = join(dir, 'fake-go');
    await mkdir(fakeBin);
    // Counts its runs, takes a while, then writes the executable where `go install` would.
    await writeFile(
      join(fakeBin, 'go'),
      `#!/bin/sh\necho run >> "${join(dir, 'runs')}"\nsleep 2\nprintf '#!/bin/sh\\necho ok\\n' > "$GOBIN/${spec.name}"\nchmod +x "$GOBIN/${spec.name}"\n`,
    );
    await chmod(join(fakeBin, 'go'), 0o755);
    process.env['PATH'] = `${fakeBin}${delimiter}/usr/bin${delimiter}/bin`;
    process.env['OPENAI_BATCH_CACHE_DIR'] = join(dir, 'cache');
    delete process.env[spec.envVar];
  });
  afterEach(async () => {
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  });

  async function runs(): Promise<number> {
    const text = await readFile(join(dir, 'runs'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).length;
  }

  const lockFile = (): string => join(dir, 'cache', 'bin', `.${spec.name}.building`);

  it('three finders at once: one build, every finder gets the binary, the waiters say why they wait', async () => {
    const lines: string[] = [];
    const found = await Promise.all(
      [1, 2, 3].map(() => findGoBinary(spec, { onProgress: (line) => lines.push(line) })),
    );
    const built = join(dir, 'cache', 'bin', spec.name);
    expect(found.map((f) => ('path' in f ? f.path : f.attempts.join('; ')))).toEqual([built, built, built]);
    expect(await runs()).toBe(1);
    expect(lines.filter((l) => l === 'building')).toHaveLength(1);
    expect(lines.filter((l) => /another process \(pid \d+\) is building lock-test-server/.test(l))).toHaveLength(2);
  });

  // The race behind "three finders at once" failing under load (2 builds): a finder read the lock
  // between another's create and its pid write, took the empty file for a dead builder's, and built.
  it('a lock whose holder has not written its pid yet is waited for, not taken over', async () => {
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    await writeFile(lockFile(), '');
    const finding = findGoBinary(spec);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await runs()).toBe(0);
    // The holder finishes its build: the waiter finds the binary at its next look.
    const built = join(dir, 'cache', 'bin', spec.name);
    await writeFile(built, '#!/bin/sh\necho ok\n', { mode: 0o755 });
    await rm(lockFile());
    const found = await finding;
    expect('path' in found && found.path).toBe(built);
    expect(await runs()).toBe(0);
  });

  it('a lock without a pid, older than any pid write takes, is taken over', async () => {
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    await writeFile(lockFile(), '');
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(lockFile(), longAgo, longAgo);
    const found = await findGoBinary(spec);
    expect('path' in found && found.path).toBe(join(dir, 'cache', 'bin', spec.name));
    expect(await runs()).toBe(1);
  });

  it('a lock left by a builder that died is taken over', async () => {
    const dead = spawnSync('true').pid;
    await mkdir(join(dir, 'cache', 'bin'), { recursive: true });
    await writeFile(lockFile(), String(dead));
    const found = await findGoBinary(spec);
    expect('path' in found && found.path).toBe(join(dir, 'cache', 'bin', spec.name));
    expect(await runs()).toBe(1);
  });
});
