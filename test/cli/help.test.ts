import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.ts';

describe('openai-batch --help', () => {
  it('every listed command answers --help with its usage, and exits 0', async () => {
    const main = await runCli(['--help'], { cwd: tmpdir() });
    expect(main.code).toBe(0);
    const commands = [...main.stdout.matchAll(/^ {2}([a-z-]+) {2,}\S/gm)].map((m) => m[1] as string);
    expect(commands).toEqual(
      expect.arrayContaining([
        'run',
        'submit',
        'status',
        'watch',
        'cancel',
        'retry',
        'extend-deadline',
        'results',
        'list',
        'schedule',
        'worker',
        'dev',
        'emulator',
      ]),
    );
    for (const name of commands) {
      const help = await runCli([name, '--help'], { cwd: tmpdir() });
      expect(help.code, name).toBe(0);
      expect(help.stdout, name).toMatch(new RegExp(`^Usage: openai-batch ${name}\\b`));
      expect(help.stderr, name).toBe('');
    }
  });

  it('an unknown command is one line and exit 2', async () => {
    const out = await runCli(['frobnicate'], { cwd: tmpdir() });
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      'openai-batch: unknown command "frobnicate"\nRun `openai-batch --help` for the commands.\n',
    );
  });
});
