import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TokenEstimator } from '../../src/plan/token-estimator.ts';

const body = (text: string): Record<string, unknown> => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: text }],
});

/** This process's children but `ps` itself: state and command line, zombies included. */
async function children(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['--ppid', String(process.pid), '-o', 'stat=,args=']).catch(
    () => ({ stdout: '' }),
  );
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^\S+\s+ps /.test(line));
}

describe('TokenEstimator', () => {
  // Sampled counting asks a process of its own through a thread (its rank table leaves the worker with it);
  // exact counting counts in this thread. A sampled line must count the same either way.
  it('counts a sampled line in its process as exact counting does here', async () => {
    for (const model of ['gpt-4o-mini', 'gpt-4-turbo']) {
      const sampled = await TokenEstimator.create(model, '/v1/chat/completions', 'sampled');
      const exact = await TokenEstimator.create(model, '/v1/chat/completions', 'exact');
      try {
        const text = 'The quick brown fox jumps over the lazy dog. Ünïcödé 漢字 emoji 🦊 and more words.';
        // The first line is always sampled.
        expect(sampled.estimate(body(text))).toBe(exact.estimate(body(text)));
        expect(exact.estimate(body(text))).toBeGreaterThan(15);
        // Later lines: sampled ones counted, the rest scaled; all positive and near the exact count.
        for (let i = 1; i < 100; i++) {
          const line = `${text} line ${i}`;
          const estimate = sampled.estimate(body(line));
          expect(Math.abs(estimate - exact.estimate(body(line)))).toBeLessThanOrEqual(3);
        }
      } finally {
        sampled.close();
        exact.close();
      }
    }
  });

  it("counts in a process of its own that ends with close (the rank table leaves nothing in the worker's memory)", async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    expect(sampled.estimate(body('hello there'))).toBeGreaterThan(0);
    expect((await children()).filter((args) => args.includes('countTokens'))).toHaveLength(1);
    sampled.close();
    // No child at all, zombies (`[node] <defunct>`) included: the ended process was reaped.
    await expect.poll(children, { timeout: 30_000, interval: 100 }).toEqual([]);
  }, 60_000);

  it('fails on a text at once when the counting process has died, rather than waiting for an answer', async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    try {
      expect(sampled.estimate(body('hello there'))).toBeGreaterThan(0);
      const { stdout } = await promisify(execFile)('ps', ['--ppid', String(process.pid), '-o', 'pid=,args=']);
      const pid = Number(
        stdout
          .split('\n')
          .find((l) => l.includes('countTokens'))
          ?.trim()
          .split(/\s+/)[0],
      );
      process.kill(pid, 'SIGKILL');
      // The thread hears of the exit; the next count is refused by the thread, not timed out.
      await new Promise((r) => setTimeout(r, 500));
      // One line in 32 is counted: the next sample within 64 lines meets the dead process.
      const estimateMany = () => {
        for (let i = 0; i < 64; i++) sampled.estimate(body(`hello again ${i}`));
      };
      expect(estimateMany).toThrow('failed on a text');
    } finally {
      sampled.close();
    }
  }, 60_000);

  it("fails loudly after close rather than hanging (sampled counting's thread is gone)", async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    sampled.close();
    const started = Date.now();
    expect(() => sampled.estimate(body('hello'))).toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 60_000);
});
