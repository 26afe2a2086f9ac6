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
  // Sampled counting asks a process of its own (its rank table leaves the worker with it); exact
  // counting counts in this thread. A sampled line must count the same either way.
  it('counts a sampled line in its process as exact counting does here', async () => {
    for (const model of ['gpt-4o-mini', 'gpt-4-turbo']) {
      const sampled = await TokenEstimator.create(model, '/v1/chat/completions', 'sampled');
      const exact = await TokenEstimator.create(model, '/v1/chat/completions', 'exact');
      try {
        const text = 'The quick brown fox jumps over the lazy dog. Ünïcödé 漢字 emoji 🦊 and more words.';
        // The first line is always sampled.
        expect(await sampled.estimate(body(text))).toBe(exact.estimate(body(text)));
        expect(exact.estimate(body(text))).toBeGreaterThan(15);
        // Later lines: sampled ones counted, the rest scaled; all positive and near the exact count.
        for (let i = 1; i < 100; i++) {
          const line = `${text} line ${i}`;
          const estimate = await sampled.estimate(body(line));
          expect(Math.abs(estimate - (exact.estimate(body(line)) as number))).toBeLessThanOrEqual(3);
        }
      } finally {
        sampled.close();
        exact.close();
      }
    }
  });

  it("counts in a process of its own that ends with close (the rank table leaves nothing in the worker's memory)", async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    expect(await sampled.estimate(body('hello there'))).toBeGreaterThan(0);
    expect((await children()).filter((args) => args.includes('countTokens'))).toHaveLength(1);
    sampled.close();
    // No child at all, zombies (`[node] <defunct>`) included: the ended process was reaped.
    await expect.poll(children, { timeout: 30_000, interval: 100 }).toEqual([]);
  }, 60_000);

  it('fails on a text at once when the counting process has died, rather than waiting for an answer', async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    try {
      expect(await sampled.estimate(body('hello there'))).toBeGreaterThan(0);
      const { stdout } = await promisify(execFile)('ps', ['--ppid', String(process.pid), '-o', 'pid=,args=']);
      const pid = Number(
        stdout
          .split('\n')
          .find((l) => l.includes('countTokens'))
          ?.trim()
          .split(/\s+/)[0],
      );
      process.kill(pid, 'SIGKILL');
      // The estimator hears of the exit; the next request is refused at once, not timed out.
      await new Promise((r) => setTimeout(r, 500));
      expect(() => sampled.estimate(body('hello again'))).toThrow('process exited (SIGKILL)');
      expect(() => sampled.defer(body('hello again'))).toThrow('process exited (SIGKILL)');
    } finally {
      sampled.close();
    }
  }, 60_000);

  it("fails loudly after close rather than hanging (sampled counting's process is gone)", async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    sampled.close();
    const started = Date.now();
    expect(() => sampled.estimate(body('hello'))).toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 60_000);

  it('deferred estimates add up, per total, to what estimate() gives line by line, never waiting', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) =>
      body(`review ${i}: ${'gorgeous screen, short battery '.repeat(1 + (i % 7))}`),
    );
    const oneByOne = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    const deferred = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    try {
      const expected: number[] = [];
      for (const [i, line] of lines.entries()) {
        const estimate = await oneByOne.estimate(line);
        // Every 5th line is charged nowhere (a rejected line still counts toward the samples).
        if (i % 5 !== 4) expected[Math.floor(i / 700)] = (expected[Math.floor(i / 700)] ?? 0) + estimate;
      }
      for (const [i, line] of lines.entries()) {
        deferred.defer(line);
        if (i % 5 !== 4) deferred.charge(Math.floor(i / 700));
        if (deferred.behind) await deferred.caughtUp();
      }
      expect(await deferred.totals()).toEqual(expected);
    } finally {
      oneByOne.close();
      deferred.close();
    }
  }, 60_000);

  // The queues stay non-empty through a whole plan (the caller resumes with samples still in
  // flight), so they must let go of what they have settled rather than wait to be empty once:
  // otherwise a 2M-request plan holds an entry per request (~140 MB).
  it('holds entries for the samples in flight only, however long the plan, while never emptying', async () => {
    const deferred = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    try {
      const long = 'gorgeous screen, short battery, '.repeat(100);
      let most = 0;
      for (let i = 0; i < 600_000; i++) {
        // Long texts: the counter reads its questions in several pipe reads and answers in pieces,
        // so the caller resumes with samples still unanswered.
        deferred.defer(body(`review ${i}: ${long}`));
        deferred.charge(0);
        if (deferred.behind) await deferred.caughtUp();
        most = Math.max(most, deferred.slotsHeld);
      }
      const [total] = await deferred.totals();
      expect(total).toBeGreaterThan(600_000);
      // In flight at most: 64 unanswered samples, 256 requests apart, twice over before a compaction.
      expect(most).toBeLessThan(2 * 65 * 256 + 1024);
    } finally {
      deferred.close();
    }
  }, 60_000);

  // A counter stuck in a count (stopped here) never reads the end of its stdin: close must not
  // leave it behind, holding its rank table and a core.
  it('ends a counting process that is stuck in a count when closed', async () => {
    const counterPids = async () =>
      (await promisify(execFile)('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='])).stdout
        .split('\n')
        .filter((l) => l.includes('countTokens'))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    // Counters of earlier tests may still be exiting: this test's is the one that is new.
    const before = new Set(await counterPids());
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    const [pid] = (await counterPids()).filter((p) => !before.has(p));
    const counters = async () => (await counterPids()).filter((p) => p === pid);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGSTOP');
    const unanswered = sampled.estimate(body('hello there'));
    expect(unanswered).toBeInstanceOf(Promise);
    (unanswered as Promise<number>).catch(() => {});
    sampled.close();
    // Killed at once, not by the 5 s fallback for a counter with nothing left to answer.
    await expect.poll(counters, { timeout: 2_000, interval: 50 }).toEqual([]);
  }, 60_000);

  it('rejects the deferred totals when the counting process dies before answering', async () => {
    const sampled = await TokenEstimator.create('gpt-4o-mini', '/v1/chat/completions', 'sampled');
    try {
      const pid = Number(
        (await promisify(execFile)('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='])).stdout
          .split('\n')
          .find((l) => l.includes('countTokens'))
          ?.trim()
          .split(/\s+/)[0],
      );
      process.kill(pid, 'SIGSTOP');
      sampled.defer(body('hello there'));
      sampled.charge(0);
      const totals = sampled.totals();
      process.kill(pid, 'SIGKILL');
      await expect(totals).rejects.toThrow('process exited (SIGKILL)');
    } finally {
      sampled.close();
    }
  }, 60_000);
});
