// The nightly-reviews example, run from its own files (schema.sql and seed.ts to fill the database,
// pipeline.yaml through `openai-batch enrich` and `schedule create --pipeline`) against a real
// Postgres, the real dev server and the emulator, workers SIGKILLed during the export and the import.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichSummary } from '../../workflows/enrich/enrich-types.ts';
import { FAST_WAIT, startJobEnv, type JobEnv } from '../support/job-env.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { readmeBlockAfter } from '../support/readme-blocks.ts';
import { runCli, runProcess } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';
import { spawnWorker } from '../support/worker-process.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/nightly-reviews/', import.meta.url));
const PIPELINE = join(EXAMPLE, 'pipeline.yaml');
/** The seed's default: the scenario's night of 30,000 reviews. */
const NIGHT = 30_000;
/**
 * The 30,000-row night through the CLI at the load of a shared CI machine (measured 100 s at load 25,
 * 180 s once at load 28): a safety bound, not a timed assertion. Each CLI run has its own task queue,
 * so a run left behind by a failed test cannot take the next run's tasks.
 */
const LONG_TEST_MS = 600_000;
/** FAST_WAIT as the CLI's wait flags, for runs whose worker is not the CLI's own. */
const FAST_WAIT_FLAGS = [
  '--poll-min-seconds',
  String(FAST_WAIT.minPollMs / 1000),
  '--poll-max-seconds',
  String(FAST_WAIT.maxPollMs / 1000),
  '--validating-poll-seconds',
  String(FAST_WAIT.validatingPollMs / 1000),
  '--heartbeat-timeout-seconds',
  String(FAST_WAIT.heartbeatTimeoutMs / 1000),
];

describe('the nightly-reviews example through the CLI', () => {
  let server: TestPostgres;
  let env: JobEnv;
  let dir: string;
  let url: string;
  let db: pg.Client;

  const count = async (where: string): Promise<number> =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM reviews WHERE ${where}`)).rows[0]?.n);
  /** UPDATEs per review since the audit started (an example-independent trigger the test adds). */
  const updatesPerReview = async (): Promise<Map<number, number>> =>
    new Map(
      (await db.query<{ id: string; n: string }>('SELECT id, count(*) AS n FROM review_updates GROUP BY id')).rows.map(
        (r) => [Number(r.id), Number(r.n)],
      ),
    );
  const seed = (...args: string[]) =>
    runProcess(process.execPath, [join(EXAMPLE, 'seed.ts'), ...args], {
      env: { PATH: process.env['PATH'] ?? '', OPENAI_BATCH_PG_URL: url },
    });
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli(args, {
      cwd: dir,
      env: { TEMPORAL_ADDRESS: devServer().address, OPENAI_BATCH_PG_URL: url, ...extra },
    });

  beforeAll(async () => {
    server = await startPostgres();
    env = await startJobEnv('nightly-reviews');
    dir = await mkdtemp(join(tmpdir(), 'nightly-reviews-'));
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE nightly_reviews');
    await admin.end();
    url = server.url.replace(/\/postgres$/, '/nightly_reviews');
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await env?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'openai-batch enrich labels every one of the 30,000 seeded reviews and prints the run row',
    async () => {
      const seeded = await seed();
      expect(seeded.code, seeded.stderr).toBe(0);
      expect(seeded.stdout).toContain(`seeded ${NIGHT} new reviews (ids 1..${NIGHT})`);
      // Seeding again adds nothing: the seed is deterministic by id.
      expect((await seed()).stdout).toContain('seeded 0 new reviews');
      await db.query(`
      CREATE TABLE review_updates (id bigint NOT NULL);
      CREATE FUNCTION count_review_update() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO review_updates (id) VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER reviews_audit AFTER UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION count_review_update();`);

      const { code, stdout, stderr } = await cli([
        'enrich',
        PIPELINE,
        '--run-id',
        'night-1',
        '--task-queue',
        `nightly-cli-${process.pid}-1`,
      ]);
      expect(stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toContain('OpenAI: embedded emulator');
      expect(stdout).toContain("run night-1 completed (review_label_runs, run_id = 'night-1'):");
      expect(stdout).toContain('rows: 30.0k exported, 0 rejected, 30.0k requests; 30.0k succeeded, 0 did not');
      expect(stdout).toContain('table reviews: 30.0k rows updated, 0 results unmatched');
      expect(stdout).not.toContain(server.password);

      expect(
        await count(
          "sentiment IS NOT NULL AND topic IS NOT NULL AND urgency BETWEEN 0 AND 3 AND label_status = 'succeeded'",
        ),
      ).toBe(NIGHT);
      expect(await count("labels ? 'sentiment' AND batch_id IS NOT NULL AND labelled_at IS NOT NULL")).toBe(NIGHT);
      const updates = await updatesPerReview();
      expect(updates.size).toBe(NIGHT);
      expect([...updates.values()].every((n) => n === 1)).toBe(true);
      const runs = await db.query<{ run_id: string; status: string; rows_updated: number; cost_usd: string }>(
        'SELECT run_id, status, rows_updated, cost_usd FROM review_label_runs',
      );
      expect(runs.rows).toEqual([
        { run_id: 'night-1', status: 'completed', rows_updated: NIGHT, cost_usd: expect.any(String) as string },
      ]);
      expect(Number(runs.rows[0]?.cost_usd)).toBeGreaterThan(0);
    },
    LONG_TEST_MS,
  );

  it(
    'the next night touches only the new reviews',
    async () => {
      await db.query('DELETE FROM review_updates');
      const before = await db.query<{ n: string }>('SELECT count(*) AS n FROM reviews WHERE labelled_at IS NOT NULL');
      expect((await seed('--from', String(NIGHT), '--count', '50')).stdout).toContain('seeded 50 new reviews');
      const { code, stdout, stderr } = await cli([
        'enrich',
        PIPELINE,
        '--run-id',
        'night-2',
        '--task-queue',
        `nightly-cli-${process.pid}-2`,
      ]);
      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toContain('rows: 50 exported, 0 rejected, 50 requests; 50 succeeded, 0 did not');
      const updates = await updatesPerReview();
      expect([...updates.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => NIGHT + 1 + i));
      expect([...updates.values()].every((n) => n === 1)).toBe(true);
      expect(Number(before.rows[0]?.n) + 50).toBe(await count('labelled_at IS NOT NULL'));
    },
    LONG_TEST_MS,
  );

  /** Starts a run with `enrich --submit` for a worker process that dies at `point`, then lets an in-test worker finish it. */
  async function runKilledAt(
    point: string,
    runId: string,
  ): Promise<{ summary: EnrichSummary; killedWith: string | null; labelledAtKill: number; runRowsAtKill: number }> {
    const doomed = spawnWorker({
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
      OPENAI_BASE_URL: env.emulator.baseURL,
      OPENAI_API_KEY: 'sk-test-not-a-secret',
      OPENAI_BATCH_PG_URL: url,
      OPENAI_BATCH_TEST_CRASH_AT: point,
    });
    try {
      const submitted = await cli([
        'enrich',
        PIPELINE,
        '--submit',
        '--run-id',
        runId,
        '--task-queue',
        env.taskQueue,
        ...FAST_WAIT_FLAGS,
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(submitted.stdout.trim()).toBe(runId);
      const ended = await doomed.exited;
      process.env['OPENAI_BATCH_PG_URL'] = url;
      const labelledAtKill = await count('labelled_at IS NOT NULL');
      const runRowsAtKill =
        (await db.query('SELECT 1 FROM review_label_runs WHERE run_id = $1', [runId])).rowCount ?? 0;
      const worker = await env.createWorker();
      const summary = (await worker.runUntil(env.conn.client.workflow.getHandle(runId).result())) as EnrichSummary;
      expect(await count('labelled_at IS NOT NULL')).toBeGreaterThanOrEqual(labelledAtKill);
      return { summary, killedWith: ended.signal, labelledAtKill, runRowsAtKill };
    } finally {
      await doomed.stop();
    }
  }

  it(
    'a worker SIGKILLed during the export: one job, every request line once, every row labelled once',
    async () => {
      await db.query('DELETE FROM review_updates');
      const from = NIGHT + 50;
      // More than one cursor read (1,000 rows each), so the kill lands with rows still to read.
      expect((await seed('--from', String(from), '--count', '1500')).stdout).toContain('seeded 1500 new reviews');
      const { summary, killedWith } = await runKilledAt('during-export', 'night-export-kill');
      expect(killedWith).toBe('SIGKILL');
      expect(summary.status).toBe('completed');
      expect(summary.exported).toMatchObject({ rows: 1500, requests: 1500, rejected: { count: 0 } });
      const lines = (await readFile(fileURLToPath(summary.exported.inputUri), 'utf8')).trim().split('\n');
      const ids = lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      expect(ids).toHaveLength(1500);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: 1500 }, (_, i) => String(from + 1 + i))));
      expect(summary.job?.rows).toBe(1500);
      expect(summary.job?.batchIds).toHaveLength(1);
      const updates = await updatesPerReview();
      expect(updates.size).toBe(1500);
      expect([...updates.values()].every((n) => n === 1)).toBe(true);
      const runs = await db.query("SELECT run_id FROM review_label_runs WHERE run_id = 'night-export-kill'");
      expect(runs.rowCount).toBe(1);
    },
    LONG_TEST_MS,
  );

  it(
    'a worker SIGKILLed during the import leaves the table as if the import ran once',
    async () => {
      await db.query('DELETE FROM review_updates');
      const from = NIGHT + 1550;
      expect((await seed('--from', String(from), '--count', '100')).stdout).toContain('seeded 100 new reviews');
      const labelledBefore = await count('labelled_at IS NOT NULL');
      const { summary, killedWith, labelledAtKill, runRowsAtKill } = await runKilledAt(
        'import-before-commit',
        'night-import-kill',
      );
      expect(killedWith).toBe('SIGKILL');
      // Killed before the commit: the import's transaction died with the connection, writing nothing.
      expect([labelledAtKill, runRowsAtKill]).toEqual([labelledBefore, 0]);
      expect(summary.status).toBe('completed');
      expect(summary.imported).toEqual({ rowsUpdated: 100, unmatched: 0, alreadyImported: false });
      expect(await count('labelled_at IS NOT NULL')).toBe(labelledBefore + 100);
      const updates = await updatesPerReview();
      expect(updates.size).toBe(100);
      expect([...updates.values()].every((n) => n === 1)).toBe(true);
      const runs = await db.query<{ status: string; rows_updated: number }>(
        "SELECT status, rows_updated FROM review_label_runs WHERE run_id = 'night-import-kill'",
      );
      expect(runs.rows).toEqual([{ status: 'completed', rows_updated: 100 }]);
    },
    LONG_TEST_MS,
  );

  it('schedule create --pipeline makes a Schedule that starts enrichTable with the file', async () => {
    const id = `nightly-reviews-${process.pid}`;
    const created = await cli(['schedule', 'create', id, '--pipeline', PIPELINE, '--cron', '0 2 * * *', '--paused']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`schedule ${id} created: pipeline nightly-reviews from ${PIPELINE}`);
    try {
      const d = await env.conn.client.schedule.getHandle(id).describe();
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'enrichTable', workflowId: id });
      const args = (d.action as { args?: unknown[] }).args;
      expect(args?.[0]).toMatchObject({
        name: 'nightly-reviews',
        sink: { table: 'reviews', runsTable: 'review_label_runs' },
      });
      expect(JSON.stringify(args)).not.toContain(server.password);
      expect(d.spec.calendars).toHaveLength(1);
      // A job flag belongs in the file's "job".
      const refused = await cli([
        'schedule',
        'create',
        `${id}-2`,
        '--pipeline',
        PIPELINE,
        '--cron',
        '0 2 * * *',
        '--max-rounds',
        '2',
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--max-rounds cannot be used with --pipeline');
    } finally {
      await env.conn.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    }
  });

  it('a run that fails on the database (a column that does not exist) is one line naming it, exit 2, nothing uploaded', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(
      broken,
      (await readFile(PIPELINE, 'utf8')).replace('SELECT id, product, rating, body', 'SELECT id, product, stars, body'),
    );
    const { code, stdout, stderr } = await cli([
      'enrich',
      broken,
      '--run-id',
      'night-broken',
      '--task-queue',
      `nightly-cli-${process.pid}-3`,
    ]);
    expect(code, stdout).toBe(2);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^openai-batch enrich: run night-broken failed: .*column "stars" does not exist/);
    expect(stdout).not.toContain('running:');
    const runs = await db.query<{ status: string; requests: number | null }>(
      "SELECT status, requests FROM review_label_runs WHERE run_id = 'night-broken'",
    );
    expect(runs.rows).toEqual([{ status: 'failed', requests: null }]);
  });

  it("the README shows the example's pipeline file verbatim", async () => {
    expect(readmeBlockAfter('from examples/nightly-reviews/pipeline.yaml')).toBe(await readFile(PIPELINE, 'utf8'));
  });

  it('a pipeline file with a mistake is one line and exit 2, before anything starts', async () => {
    const bad = join(dir, 'bad.yaml');
    const text = (await readFile(PIPELINE, 'utf8')).replace(
      'keyColumn: id\n  maxTextChars',
      'keyColum: id\n  maxTextChars',
    );
    await writeFile(bad, text);
    const { code, stderr } = await cli(['enrich', bad]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      `openai-batch enrich: ${bad}: source.keyColum: unknown field; did you mean keyColumn?`,
    ]);
  });
});
