// Two `openai-batch run` commands at once on one Temporal server, each with its embedded emulator
// and no --task-queue: each worker must take only its own job's tasks (on a shared queue, one
// worker uploads to its emulator and the other creates the batch on its own, which has no file).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { runCli } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

describe('two openai-batch run commands at once on one Temporal server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-run-two-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('each runs its job on its own emulator to one succeeded result per request', async () => {
    const stamp = Date.now().toString(36);
    const runs = ['a', 'b'].map(async (name) => {
      const cwd = join(dir, name);
      const input = join(dir, `${name}.jsonl`);
      await writeReviewRequests(input, 400);
      const jobId = `two-${name}-${stamp}`;
      const result = await runCli(['run', input, '--job-id', jobId, '--max-requests-per-batch', '50'], {
        cwd: dir,
        env: { TEMPORAL_ADDRESS: devServer().address, OPENAI_BATCH_STORAGE_ROOT: cwd },
      });
      return { jobId, cwd, ...result };
    });
    for (const { jobId, cwd, code, stdout, stderr } of await Promise.all(runs)) {
      expect(stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(stdout).toContain(`started on task queue "openai-batch-${jobId}"`);
      expect(stdout, stdout + stderr).toMatch(new RegExp(`job ${jobId} completed: 400 rows \\(succeeded 400\\)`));
      expect(code).toBe(0);
      const rows = (await readFile(join(cwd, jobId, 'results.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { custom_id: string; status: string });
      expect(new Set(rows.map((r) => r.custom_id)).size).toBe(400);
      expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    }
  }, 240_000);
});
