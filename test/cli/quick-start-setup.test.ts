// The README's quick start on a machine like CI's (it ships Node 20): `npx openai-batch run ...` in a
// fresh checkout sets up Node 24 (the npm registry's node@24, kept in the project's cache) and the
// checkout's dependencies itself, each in one line, then runs the job; `npm test` runs on Node 24 too.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { cacheDir } from '../../src/tools/devserver/cache-dir.ts';
import { runProcess } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'openai-batch.js');
const node24 = join(cacheDir(), 'node24', 'node_modules', 'node', 'bin', 'node');
const CLEAN = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', OPENAI_BATCH_STORAGE_ROOT: '', TEMPORAL_ADDRESS: '' };

/** A Node binary on this machine older than 22.18 (the machines ship Node 20 at /usr/bin/node), if any. */
function oldNode(): string | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const [major, minor] = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' })
        .trim()
        .split('.')
        .map(Number) as [number, number];
      if (major < 22 || (major === 22 && minor < 18)) return path;
    } catch {
      // not installed here
    }
  }
  return undefined;
}

const old = oldNode();
// The old Node's own directory first on PATH, as on a machine that has only it.
const oldPath = old ? `${join(old, '..')}:/usr/bin:/bin` : '';

describe('the quick start on an old Node', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.skipIf(!old)(
    `runs the CLI with Node 24 from the cache, saying so in one line (${old ?? 'no old Node'})`,
    async () => {
      const out = await runProcess(old!, [bin, '--help'], { env: { ...process.env, ...CLEAN, PATH: oldPath } });
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('Usage: openai-batch <command>');
      expect(out.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^openai-batch: this is Node 2?\d\.\d+\.\d+; running with Node 24 from \S+node$/),
      ]);
    },
  );

  it.skipIf(!old)('npm test runs its tools on Node 24 too (bin/with-node.js)', async () => {
    const out = await runProcess(old!, [join(root, 'bin', 'with-node.js'), 'vitest', '--version'], {
      cwd: root,
      env: { ...process.env, PATH: oldPath },
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/vitest\/\d+\.\d+\.\d+ .*node-v24\./);
  });

  it('a Node 24 that still looks too old gets the one-line message, not a loop of re-runs', async () => {
    const out = await runProcess(process.execPath, [bin, '--help'], {
      env: { ...process.env, OPENAI_BATCH_TEST_NODE_VERSION: '22.17.1' },
    });
    expect(out.code).toBe(1);
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^openai-batch: this is Node 22\.17\.1; running with Node 24 from /);
    expect(lines[1]).toMatch(/^openai-batch needs Node\.js >= 22\.18/);
    expect(lines).toHaveLength(2);
  });

  // A copy of the checkout with no node_modules, run with the old Node as the README says.
  it.skipIf(!old)(
    'a fresh checkout without npm ci: `npx openai-batch run` installs the dependencies and runs the job',
    { timeout: 600_000 },
    async () => {
      const copy = await mkdtemp(join(tmpdir(), 'fresh-checkout-'));
      dirs.push(copy);
      const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
        cwd: root,
        encoding: 'utf8',
      })
        .split('\0')
        .filter((f) => f && f !== 'examples/reviews/reviews.jsonl');
      execFileSync('tar', ['-cf', join(copy, 'src.tar'), '--ignore-failed-read', ...files], { cwd: root });
      execFileSync('tar', ['-xf', 'src.tar'], { cwd: copy });
      await writeReviewRequests(join(copy, 'examples', 'reviews', 'small.jsonl'), 30);
      const npx = join(old!, '..', 'npx');
      const out = await runProcess(npx, ['openai-batch', 'run', 'examples/reviews/small.jsonl', '--job-id', 'fresh'], {
        cwd: copy,
        env: { ...process.env, ...CLEAN, PATH: oldPath, TEMPORAL_ADDRESS: devServer().address },
      });
      expect(out.stderr).toMatch(/openai-batch: this is Node \d+\.\d+\.\d+; running with Node 24 from /);
      expect(out.stderr).toContain("openai-batch: installing this checkout's dependencies (npm ci in ");
      expect(out.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/job fresh completed: 30 rows \(succeeded 30\)/);
      expect(node24).toBeTruthy();
    },
  );
});
