import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyReviews } from '../../examples/start-job.ts';
import { createNightlyReviewSchedule } from '../../examples/nightly-schedule.ts';
import { writeReviewRequests } from '../../examples/reviews/generate-reviews.ts';
import { findTemporalCli } from '../../src/tools/devserver/find-temporal-cli.ts';
import type { JobSummary } from '../../common/job-types.ts';
import { progressQuery } from '../../common/messages.ts';
import { JOB_NAME } from '../../common/search-attributes.ts';
import { startJobEnv, type JobEnv } from '../support/job-env.ts';
import { allReadmes, readmeBlockAfter, readmeBlocks } from '../support/readme-blocks.ts';
import { runProcess } from '../support/run-cli.ts';
import { devServer } from '../support/temporal.ts';

const root = new URL('../../', import.meta.url);
// README blocks show the published import specifiers; the example files import the sources.
const published = (source: string): string =>
  source
    .replace("from '../src/index.ts'", "from 'temporal-openai-batch'")
    .replace("from '../workflows/index.ts'", "from 'temporal-openai-batch/workflows'");

describe('every README code block is an example file that a test runs', () => {
  it.each(['examples/start-job.ts', 'examples/nightly-schedule.ts'])('the README shows %s verbatim', async (file) => {
    expect(readmeBlockAfter(`from ${file}`)).toBe(published(await readFile(new URL(file, root), 'utf8')));
  });

  it('every README, root and folder, shows TypeScript only as example files, verbatim', async () => {
    const shown: string[] = [];
    for (const [path] of allReadmes()) {
      for (const block of readmeBlocks(path).filter((b) => b.lang === 'ts')) {
        const file = /^from (examples\/\S+\.ts)$/.exec(block.marker ?? '')?.[1];
        expect([path, block.marker]).toEqual([path, expect.stringMatching(/^from examples\//)]);
        expect(block.body).toBe(published(await readFile(new URL(file!, root), 'utf8')));
        shown.push(`${path}: ${file}`);
      }
    }
    expect(shown).toEqual(
      expect.arrayContaining([
        'README.md: examples/start-job.ts',
        'src/tools/emulator/README.md: examples/emulator-client.ts',
        'workflows/README.md: examples/my-workflows.ts',
      ]),
    );
  });
});

describe('the README examples run against a real dev server, worker and emulator', () => {
  let env: JobEnv;
  let worker: Worker;
  let running: Promise<void>;
  let inputUri: string;
  beforeAll(async () => {
    env = await startJobEnv('readme', { rowsPerSecond: 'instant' });
    worker = await env.createWorker();
    running = worker.run();
    await mkdir(join(env.dir, 'storage', 'inputs'), { recursive: true });
    await writeReviewRequests(join(env.dir, 'storage', 'inputs', 'reviews.jsonl'), 30);
    inputUri = `${env.storageRoot}/inputs/reviews.jsonl`;
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  it('start a job from code: every review gets a sentiment', async () => {
    const sentiments = await classifyReviews(env.conn.client, {
      inputUri,
      taskQueue: env.taskQueue,
      storageRoot: env.storageRoot,
    });
    expect(Object.values(sentiments).reduce((a, b) => a + b, 0)).toBe(30);
    for (const key of Object.keys(sentiments)) expect(['positive', 'neutral', 'negative']).toContain(key);
  });

  it('a nightly schedule starts a job that completes', async () => {
    const handle = await createNightlyReviewSchedule(env.conn.client, { inputUri, taskQueue: env.taskQueue });
    try {
      await handle.trigger();
      let jobId: string | undefined;
      for (let i = 0; i < 40 && !jobId; i++) {
        jobId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!jobId) await new Promise((r) => setTimeout(r, 250));
      }
      expect(jobId).toMatch(/^nightly-reviews-/);
      const summary = (await env.conn.client.workflow.getHandle(jobId!).result()) as JobSummary;
      expect(summary.jobId).toBe(jobId);
      expect(summary.counts.succeeded).toBe(30);
    } finally {
      await handle.delete();
    }
  });

  it('the operator commands work as written, with the temporal CLI, on a running job', async () => {
    env.emulator.setConfig({ rowsPerSecond: 2 });
    const deadline = new Date(Date.now() + 3_600_000);
    const newDeadline = new Date(deadline.getTime() + 3_600_000).toISOString();
    const job = await env.conn.client.workflow.start('openAIBatchJob', {
      taskQueue: env.taskQueue,
      workflowId: `readme-ops-${Date.now()}`,
      args: [
        {
          name: 'nightly-reviews',
          inputUri,
          endpoint: '/v1/chat/completions',
          deadline: deadline.toISOString(),
          wait: { minPollMs: 200, maxPollMs: 1000, progressRefreshMs: 1000 },
        },
      ],
      typedSearchAttributes: [{ key: JOB_NAME, value: 'nightly-reviews' }],
    });
    let batchId: string | undefined;
    for (let i = 0; i < 80 && !batchId; i++) {
      batchId = (await job.query(progressQuery)).batchIds[0];
      if (!batchId) await new Promise((r) => setTimeout(r, 250));
    }
    expect(batchId).toMatch(/^batch_/);
    const cli = await findTemporalCli({ allowGoBuild: false });
    const script = join(env.dir, 'operator.sh');
    const lines = readmeBlockAfter('doc-test: operator').replace(/^temporal /gm, `"${cli.path}" `);
    // Visibility is eventually consistent: retry the script's list lines until the job shows up.
    await writeFile(
      script,
      `set -eu
for i in $(seq 1 20); do ${lines.split('\n')[1]} | grep -q "$JOB_ID" && break; sleep 0.5; done
${lines}`,
    );
    // The temporal CLI reads TEMPORAL_ADDRESS, as the README says.
    const out = await runProcess('/bin/sh', [script], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: devServer().address,
        JOB_ID: job.workflowId,
        BATCH_ID: batchId!,
        NEW_DEADLINE: newDeadline,
      },
    });
    env.emulator.setConfig({ rowsPerSecond: 'instant' });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const listed = out.stdout.split('Query result')[0]!;
    expect(listed.split(job.workflowId).length - 1).toBeGreaterThanOrEqual(2); // by name and by batch id
    expect(out.stdout).toMatch(/"phase":"running"/); // the progress query
    expect(out.stdout).toContain(`deadline:${newDeadline}`); // the extendDeadline update's result
    expect(out.stdout).toContain('Canceled workflow');
    await job.result().catch(() => undefined);
    expect((await job.describe()).status.name).toBe('CANCELLED');
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBeGreaterThanOrEqual(1);
  });
});
