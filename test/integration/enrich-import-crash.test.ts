// A worker SIGKILLed during the import (before or after its commit): the retried import leaves
// the table as if it ran once. Real Postgres, real worker process, dev server and emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrashPoint } from '../../activities/crash-point.ts';
import { reviewPipeline } from '../../examples/nightly-enrichment.ts';
import type { EnrichSummary } from '../../workflows/enrich/enrich-types.ts';
import { createReviewsDb, type ReviewsDb } from '../support/enrich-db.ts';
import { FAST_WAIT, startJobEnv, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { spawnWorker } from '../support/worker-process.ts';

describe('a worker killed during the import', () => {
  let env: JobEnv;
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('enrich-crash');
  });
  afterAll(async () => {
    await env?.close();
    await server?.stop();
  });

  // import-before-commit (nothing at the kill, everything once after) is in
  // test/cli/nightly-reviews-example.test.ts, through the CLI with the example's own files.
  const cases: { point: CrashPoint; committed: boolean }[] = [{ point: 'import-after-commit', committed: true }];
  for (const { point, committed } of cases) {
    it(`killed ${point}: the retry writes every row once and one run row`, async () => {
      let db: ReviewsDb | undefined;
      const doomedEnv = (url: string) => ({
        OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
        OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
        OPENAI_BASE_URL: env.emulator.baseURL,
        OPENAI_API_KEY: 'sk-test-not-a-secret',
        OPENAI_BATCH_PG_URL: url,
        OPENAI_BATCH_TEST_CRASH_AT: point,
      });
      try {
        db = await createReviewsDb(server, `crash_${point.replaceAll('-', '_')}`);
        await db.insertReviews(1, 201);
        process.env['OPENAI_BATCH_PG_URL'] = db.url;
        const doomed = spawnWorker(doomedEnv(db.url));
        const workflowId = `enrich-crash-${point}-${Date.now()}`;
        try {
          const handle = await env.conn.client.workflow.start('enrichTable', {
            workflowId,
            taskQueue: env.taskQueue,
            args: [reviewPipeline({ job: { wait: FAST_WAIT } })],
          });
          const ended = await doomed.exited;
          expect(ended.signal, doomed.output()).toBe('SIGKILL');
          // What the kill left: nothing (the transaction died with the connection) or everything.
          const labelled = await db.query<{ n: string }>(
            'SELECT count(*) AS n FROM reviews WHERE sentiment IS NOT NULL',
          );
          expect(Number(labelled[0]?.n)).toBe(committed ? 200 : 0);
          // The runs table is created in the import's transaction too.
          const runsAtKill = await db.query<{ runs: string | null }>("SELECT to_regclass('review_label_runs') AS runs");
          expect(runsAtKill[0]?.runs).toBe(committed ? 'review_label_runs' : null);

          const worker = await env.createWorker();
          const summary = (await worker.runUntil(handle.result())) as EnrichSummary;
          expect(summary.status).toBe('completed');
          expect(summary.imported).toEqual({ rowsUpdated: 200, unmatched: 0, alreadyImported: committed });
        } finally {
          await doomed.stop();
        }
        const updates = await db.updatesPerReview();
        expect(updates.size).toBe(200);
        expect([...updates.values()].every((n) => n === 1)).toBe(true);
        const runs = await db.query<{ run_id: string; status: string; rows_updated: number }>(
          'SELECT run_id, status, rows_updated FROM review_label_runs',
        );
        expect(runs).toEqual([{ run_id: workflowId, status: 'completed', rows_updated: 200 }]);
      } finally {
        await db?.close();
      }
    });
  }
});
