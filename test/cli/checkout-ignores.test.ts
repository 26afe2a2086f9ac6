// The quick start writes job files (and the embedded dev server's database) under `.openai-batch/`
// in the checkout: git must not offer them for commit.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function ignored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: root, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function inGitWorkTree(): boolean {
  try {
    return (
      execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root, encoding: 'utf8' }).trim() === 'true'
    );
  } catch {
    return false;
  }
}

// A copy of the sources without git (a container build) has nothing to ignore.
describe.skipIf(!inGitWorkTree())("the checkout's .gitignore", () => {
  it('ignores what the quick start leaves in .openai-batch/', () => {
    expect(ignored('.openai-batch/job-20261201T160715-aja4/results.jsonl')).toBe(true);
    expect(ignored('.openai-batch/dev-server.sqlite')).toBe(true);
    expect(ignored('examples/reviews/.openai-batch/emulator/state.json')).toBe(true);
  });

  it('still tracks the example input the quick start reads', () => {
    expect(ignored('examples/reviews/reviews.jsonl')).toBe(false);
  });
});
