// Where Chromium is missing, `npm test` skips the browser test with a notice naming how to enable
// it; under CI (OPENAI_BATCH_REQUIRE_BROWSER=1, set by .ci/run) the same test runs and fails.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-cli.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const MISSING = '/nonexistent/chromium';

function browserTest(env: Record<string, string>) {
  return runProcess(process.execPath, [vitest, 'run', 'test/browser/ui-cancel.test.ts'], {
    cwd: root,
    env: { ...process.env, CHROMIUM_PATH: MISSING, OPENAI_BATCH_REQUIRE_BROWSER: '', ...env },
  });
}

describe('the browser test on a machine without Chromium', () => {
  it('is skipped, with a notice that names how to enable it', async () => {
    const out = await browserTest({});
    const text = out.stdout + out.stderr;
    expect(out.code).toBe(0);
    expect(text).toContain(`browser test skipped: no Chromium at ${MISSING}`);
    expect(text).toContain("install Debian's chromium (sudo apt-get install chromium)");
    expect(text).toMatch(/1 skipped/);
  });

  it('fails under OPENAI_BATCH_REQUIRE_BROWSER=1, as in CI', async () => {
    const out = await browserTest({ OPENAI_BATCH_REQUIRE_BROWSER: '1' });
    expect(out.code).not.toBe(0);
    expect(out.stdout + out.stderr).toContain(MISSING);
    expect(out.stdout + out.stderr).not.toContain('browser test skipped');
  });
});
