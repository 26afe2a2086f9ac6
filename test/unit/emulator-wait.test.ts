// EMULATOR_WAIT, the fast polls `run` uses against the emulator, is importable from both entries,
// and the README's "Local development" shows the same values as command-line flags.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EMULATOR_WAIT } from '../../src/index.ts';
import { EMULATOR_WAIT as FROM_WORKFLOWS } from '../../workflows/index.ts';

describe('EMULATOR_WAIT', () => {
  it('is exported by the package root and the workflows entry alike', () => {
    expect(FROM_WORKFLOWS).toBe(EMULATOR_WAIT);
    expect(EMULATOR_WAIT.minPollMs).toBeLessThan(60_000);
  });

  it("is what the README's local development section passes as flags", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Local development'), readme.indexOf('## Development'));
    const s = (ms: number | undefined): string => String((ms ?? 0) / 1000);
    expect(section).toContain(
      `--poll-min-seconds ${s(EMULATOR_WAIT.minPollMs)} --poll-max-seconds ${s(EMULATOR_WAIT.maxPollMs)} ` +
        `--validating-poll-seconds ${s(EMULATOR_WAIT.validatingPollMs)} ` +
        `--progress-refresh-seconds ${s(EMULATOR_WAIT.progressRefreshMs)}`,
    );
    expect(section).toContain('wait: EMULATOR_WAIT');
  });
});
