// Cancelling an `enrichTable` run while its batches run: the cancel reaches OpenAI through the
// child job, and the rows the batches had finished (and were billed for) still land in Postgres.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewPipeline } from '../../examples/nightly-enrichment.ts';
import { openStorage } from '../../src/storage/index.ts';
import { enrichProgressQuery, enrichTable } from '../../workflows/enrich/enrich-table.ts';
import { createReviewsDb, type ReviewsDb } from '../support/enrich-db.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { until } from '../support/until.ts';

describe('a cancelled enrichTable run', () => {
  let env: JobEnv;
  let server: TestPostgres;
  let db: ReviewsDb;

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('enrich-cancel', { rowsPerSecond: 10 });
    db = await createReviewsDb(server, 'cancel_run');
    process.env['OPENAI_BATCH_PG_URL'] = db.url;
  });
  afterAll(async () => {
    await db?.close();
    await env?.close();
    await server?.stop();
  });

  it('cancels its batches at OpenAI, imports the rows they finished, and records the run as cancelled', async () => {
    await db.insertReviews(1, 401);
    const workflowId = `enrich-cancel-${Date.now()}`;
    const worker = await env.createWorker();
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    const outcome = await worker.runUntil(async () => {
      const handle = await env.conn.client.workflow.start(enrichTable, {
        workflowId,
        taskQueue: env.taskQueue,
        args: [reviewPipeline({ job: { wait: FAST_WAIT, limits: { maxRequests: 200 } } })],
      });
      await until('both batches to run with rows done', async () => {
        if ((await handle.query(enrichProgressQuery).catch(() => undefined))?.phase !== 'running') return false;
        const running = [];
        for await (const b of openai.batches.list({ limit: 100 }))
          if (b.status === 'in_progress' && (b.request_counts?.completed ?? 0) > 0) running.push(b.id);
        return running.length === 2;
      });
      await handle.cancel();
      return await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);

    const stats = env.emulator.stats();
    expect(stats.batchesCreated).toBe(2);
    expect(stats.batchesByStatus['cancelled']).toBe(2);

    const storage = openStorage(env.storageRoot);
    const results = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      storage.jobUri(`${workflowId}.job`, 'results.jsonl'),
    );
    const succeeded = tally(results).statuses['succeeded'] ?? 0;
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThan(400);

    const labelled = await db.query<{ id: string; label_status: string }>(
      'SELECT id, label_status FROM reviews WHERE sentiment IS NOT NULL',
    );
    expect(labelled).toHaveLength(succeeded);
    expect(labelled.every((r) => r.label_status === 'succeeded')).toBe(true);
    const succeededIds = new Set(results.filter((r) => r.status === 'succeeded').map((r) => r.custom_id));
    expect(labelled.every((r) => succeededIds.has(r.id))).toBe(true);

    const runs = await db.query<{ run_id: string; status: string; rows_updated: number; imported: boolean }>(
      'SELECT run_id, status, rows_updated, imported FROM review_label_runs',
    );
    expect(runs).toEqual([{ run_id: workflowId, status: 'cancelled', rows_updated: succeeded, imported: true }]);
    // The cancelled run's row carries what the job did and what it cost, as a completed run's does.
    const [row] = await db.query<{
      requests: number;
      succeeded: number | null;
      not_succeeded: number | null;
      input_tokens: string | null;
      cost_usd: string | null;
      job_id: string | null;
      batch_ids: string[] | null;
    }>('SELECT requests, succeeded, not_succeeded, input_tokens, cost_usd, job_id, batch_ids FROM review_label_runs');
    expect(row).toMatchObject({
      requests: 400,
      succeeded,
      not_succeeded: 400 - succeeded,
      job_id: `${workflowId}.job`,
    });
    expect(Number(row?.input_tokens)).toBeGreaterThan(0);
    expect(Number(row?.cost_usd)).toBeGreaterThan(0);
    expect(row?.batch_ids).toHaveLength(2);
  });
});
