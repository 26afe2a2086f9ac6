// The nightly enrichment pipeline end to end: a real Postgres, the real dev server, the emulator.
// A Temporal Schedule (examples/nightly-enrichment.ts) starts `enrichTable`, which exports the
// unlabelled reviews, runs them as a child batch job, and writes the labels back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { createNightlyEnrichmentSchedule } from '../../examples/nightly-enrichment.ts';
import type { EnrichSummary } from '../../workflows/enrich/enrich-types.ts';
import { enrichJobWorkflowId } from '../../workflows/enrich/enrich-table.ts';
import { createReviewsDb, type ReviewsDb } from '../support/enrich-db.ts';
import { FAST_WAIT, startJobEnv, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { until } from '../support/until.ts';

/** Every string and byte array (payload data decoded as UTF-8) of a history, joined. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return '';
}

/**
 * A night of new reviews. The seed scenario's full 30,000 run in test/cli/nightly-reviews-example.test.ts
 * (the example's own files through the CLI); here a few thousand keep the suite short.
 */
const NIGHT = 3_000;

describe('enrichTable from a Temporal Schedule against a real Postgres', () => {
  let env: JobEnv;
  let server: TestPostgres;
  let db: ReviewsDb;
  let worker: Worker;
  let running: Promise<void>;
  const scheduleId = `nightly-review-labels-${Date.now()}`;

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('enrich');
    db = await createReviewsDb(server, 'pipeline_e2e');
    // The worker resolves the pipeline's connection name; the URL never reaches Temporal.
    process.env['OPENAI_BATCH_PG_URL'] = db.url;
    worker = await env.createWorker();
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env.conn.client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await db?.close();
    await env?.close();
    await server?.stop();
  });

  /** Triggers the schedule and waits for the run it starts (not the previous one). */
  async function triggerRun(): Promise<{ workflowId: string; summary: EnrichSummary }> {
    const schedule = env.conn.client.schedule.getHandle(scheduleId);
    const before = (await schedule.describe()).info.recentActions.length;
    await schedule.trigger();
    let workflowId = '';
    await until('the schedule to start a run', async () => {
      const actions = (await schedule.describe()).info.recentActions;
      if (actions.length <= before) return false;
      workflowId = actions.at(-1)!.action.workflow.workflowId;
      return true;
    });
    const summary = (await env.conn.client.workflow.getHandle(workflowId).result()) as EnrichSummary;
    return { workflowId, summary };
  }

  it('a scheduled run labels every one of 3,000 reviews, records one run row, and keeps the database password out of history', async () => {
    await db.insertReviews(1, NIGHT + 1);
    await createNightlyEnrichmentSchedule(env.conn.client, {
      taskQueue: env.taskQueue,
      scheduleId,
      job: { wait: FAST_WAIT },
    });
    const { workflowId, summary } = await triggerRun();

    expect(summary.status).toBe('completed');
    expect(summary.exported).toMatchObject({ rows: NIGHT, requests: NIGHT, rejected: { count: 0 } });
    expect(summary.job?.counts.succeeded).toBe(NIGHT);
    expect(summary.imported).toEqual({ rowsUpdated: NIGHT, unmatched: 0, alreadyImported: false });

    const reviews = await db.query<{
      id: string;
      sentiment: string | null;
      topic: string | null;
      urgency: number | null;
      labels: { sentiment: string; topic: string; urgency: number } | null;
      label_status: string | null;
      batch_id: string | null;
      labelled_at: Date | null;
    }>('SELECT * FROM reviews ORDER BY id');
    expect(reviews).toHaveLength(NIGHT);
    for (const r of reviews) {
      expect(['positive', 'neutral', 'negative']).toContain(r.sentiment);
      expect(['shipping', 'quality', 'price', 'support', 'other']).toContain(r.topic);
      expect(r.urgency).toBeGreaterThanOrEqual(0);
      expect(r.urgency).toBeLessThanOrEqual(3);
      // The typed columns are the fields of the jsonb answer.
      expect(r.labels).toEqual({ sentiment: r.sentiment, topic: r.topic, urgency: r.urgency });
      expect(r.label_status).toBe('succeeded');
      expect(summary.job?.batchIds).toContain(r.batch_id);
      expect(r.labelled_at).toBeInstanceOf(Date);
    }
    const updates = await db.updatesPerReview();
    expect(updates.size).toBe(NIGHT);
    expect([...updates.values()].every((n) => n === 1)).toBe(true);

    const runs = await db.query<Record<string, unknown>>('SELECT * FROM review_label_runs');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      run_id: workflowId,
      pipeline: 'nightly-reviews',
      status: 'completed',
      imported: true,
      rows_exported: NIGHT,
      rejected: 0,
      requests: NIGHT,
      succeeded: NIGHT,
      not_succeeded: 0,
      rows_updated: NIGHT,
      unmatched: 0,
      model: 'gpt-4o-mini',
    });
    expect(Number(runs[0]!['cost_usd'])).toBeGreaterThan(0);
    expect(Number(runs[0]!['cost_usd'])).toBeCloseTo(summary.job!.costUsd, 9);
    expect(Number(runs[0]!['input_tokens'])).toBe(summary.job!.usage.input);
    expect(Number(runs[0]!['duration_ms'])).toBeGreaterThan(0);

    // References only, and no credentials: the pipeline's and the job's histories.
    const histories = [
      await env.conn.client.workflow.getHandle(workflowId).fetchHistory(),
      await env.conn.client.workflow.getHandle(enrichJobWorkflowId(workflowId)).fetchHistory(),
    ];
    const text = historyText(histories);
    expect(text).toContain('OPENAI_BATCH_PG_URL');
    expect(text).not.toContain(server.password);
    expect(text).not.toContain('Arrived two days late'); // no review text in history
    expect(text).not.toContain(db.url);
  });

  it('the next night touches only the reviews that came in since', async () => {
    await db.insertReviews(NIGHT + 1, NIGHT + 51);
    const { summary } = await triggerRun();
    expect(summary.status).toBe('completed');
    expect(summary.exported).toMatchObject({ rows: 50, requests: 50 });
    expect(summary.imported?.rowsUpdated).toBe(50);
    const updates = await db.updatesPerReview();
    expect(updates.size).toBe(NIGHT + 50);
    expect([...updates.values()].every((n) => n === 1)).toBe(true);
    const unlabelled = await db.query('SELECT id FROM reviews WHERE sentiment IS NULL');
    expect(unlabelled).toEqual([]);
    const runs = await db.query<{ rows_exported: number }>(
      'SELECT rows_exported FROM review_label_runs ORDER BY started_at',
    );
    expect(runs.map((r) => r.rows_exported)).toEqual([NIGHT, 50]);
  });

  it('a night with no new reviews starts no job and still records its run', async () => {
    const before = env.emulator.stats();
    const { workflowId, summary } = await triggerRun();
    expect(summary.status).toBe('completed');
    expect(summary.exported).toMatchObject({ rows: 0, requests: 0 });
    expect(summary.job).toBeUndefined();
    expect(env.emulator.stats().filesUploaded).toBe(before.filesUploaded);
    const runs = await db.query('SELECT status, rows_exported, rows_updated FROM review_label_runs WHERE run_id = $1', [
      workflowId,
    ]);
    expect(runs).toEqual([{ status: 'completed', rows_exported: 0, rows_updated: null }]);
  });
});
