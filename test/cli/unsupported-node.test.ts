// `openai-batch` on a Node older than the package supports: one line naming the version it needs
// and how to get it, never a stack trace about `.ts` files.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-cli.ts';

const bin = fileURLToPath(new URL('../../bin/openai-batch.js', import.meta.url));
// In a checkout the CLI would set up Node 24 itself (test/cli/quick-start-setup.test.ts); this is the
// message when it does not (an installed package, or provisioning turned off).
const NO_PROVISION = { OPENAI_BATCH_NO_NODE_PROVISION: '1' };

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

function expectOneLine(out: { code: number | null; stdout: string; stderr: string }, version: RegExp): void {
  expect(out.code).toBe(1);
  expect(out.stdout).toBe('');
  const lines = out.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^openai-batch needs Node\.js >= 22\.18 \(Node 24 LTS recommended\); this is Node /);
  expect(lines[0]).toMatch(version);
  expect(lines[0]).toContain('https://nodejs.org');
  expect(lines[0]).toContain('npm install --prefix ~/.cache/node24 node@24');
  expect(out.stderr).not.toMatch(/\.ts|at .*:\d+:\d+/);
}

describe('openai-batch on an unsupported Node', () => {
  const old = oldNode();
  it.skipIf(!old)(
    `prints one line naming the version needed and how to get it (${old ?? 'no Node older than 22.18 here'})`,
    async () => {
      const out = await runProcess(old!, [bin, 'run', '--help'], { env: { ...process.env, ...NO_PROVISION } });
      expectOneLine(out, /this is Node (?:1\d|2[0-2])\.\d+\.\d+ /);
    },
  );

  it('says the same for any version below 22.18 it is told it runs on', async () => {
    const out = await runProcess(process.execPath, [bin, '--help'], {
      env: { ...process.env, ...NO_PROVISION, OPENAI_BATCH_TEST_NODE_VERSION: '22.17.1' },
    });
    expectOneLine(out, /this is Node 22\.17\.1 /);
  });

  it('runs the CLI on a supported Node', async () => {
    const out = await runProcess(process.execPath, [bin, '--help'], { env: { ...process.env } });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('openai-batch');
  });
});
