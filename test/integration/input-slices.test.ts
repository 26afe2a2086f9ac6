// Chunks as slices of the plan's snapshot of the input (src/storage/slice-uri.ts) on the real dev
// server and emulator: a job planned from a clean input writes no chunk file and reconciles every
// row once; the user's input written again (or deleted) while the job runs changes nothing. The
// job's own input (the CLI's copy, which nothing else writes) is sliced as it is, not copied.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('chunks sliced from the job input', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('input-slices');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a clean input is sent as slices of itself: no chunk file is written, every row reconciled once', async () => {
    const inputUri = await writeChatInput(env, 60, { file: 'clean.jsonl' });
    const worker = await env.createWorker();
    const jobId = `slices-clean-${Date.now()}`;
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 20 }, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(60);
    const results = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(results);
    expect(ids.size).toBe(60);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(statuses).toEqual({ succeeded: 60 });
    // Three chunks, and no c<i>/input.jsonl under the round: the snapshot's slices were sent.
    const files = await readdir(join(env.dir, 'storage', jobId), { recursive: true });
    expect(files.filter((f) => /c\d+[/\\]input\.jsonl$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^r1[/\\]input-a\d+\.jsonl$/.test(f))).toEqual([join('r1', 'input-a1.jsonl')]);
    expect(files.filter((f) => /c\d+[/\\]records\.jsonl$/.test(f))).toHaveLength(3);
  });

  it("the job's own input file (where the CLI copies a local file) is sliced as it is: no snapshot, no chunk file", async () => {
    const jobId = `slices-own-${Date.now()}`;
    const source = fileURLToPath(await writeChatInput(env, 60, { file: `${jobId}.jsonl` }));
    // Named as the CLI names its copy (src/plan/job-input-file.ts).
    const own = join(env.dir, 'storage', jobId, 'input-5eed5eed.jsonl');
    await mkdir(dirname(own), { recursive: true });
    await copyFile(source, own);
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri: pathToFileURL(own).href,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 20 },
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await awaitJobSummary(handle);
    });
    expect(summary.status).toBe('completed');
    const { ids, statuses } = tally(
      await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri),
    );
    expect(ids.size).toBe(60);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(statuses).toEqual({ succeeded: 60 });
    // The input is stored once: no copy of it under the round, and no chunk file.
    const files = await readdir(join(env.dir, 'storage', jobId), { recursive: true });
    expect(files.filter((f) => /input-a\d+\.jsonl$/.test(f))).toEqual([]);
    expect(files.filter((f) => /c\d+[/\\]input\.jsonl$/.test(f))).toEqual([]);
    expect(files.filter((f) => /c\d+[/\\]records\.jsonl$/.test(f))).toHaveLength(3);
    expect(await readFile(own, 'utf8')).toBe(await readFile(source, 'utf8'));
  });

  it("the user's input written again once the job is planned changes nothing: every planned row once", async () => {
    const inputUri = await writeChatInput(env, 60, { file: 'rewritten.jsonl' });
    // One slot and 2 s per upload: six chunks queue their uploads, so most read their chunk after
    // the input has been written again.
    const worker = await env.createWorker({ heavyActivitySlots: 1 });
    env.emulator.setConfig({ faults: { 'files.create': { latencyMs: 2_000 } } });
    const jobId = `slices-rewritten-${Date.now()}`;
    const summary = await worker
      .runUntil(async () => {
        const handle = await startBatchJob(
          env.conn.client,
          {
            jobId,
            inputUri,
            endpoint: '/v1/chat/completions',
            limits: { maxRequests: 10 },
            maxActiveBatches: 6,
            wait: FAST_WAIT,
          },
          { taskQueue: env.taskQueue },
        );
        // Once the plan has completed, the input is replaced by other lines of the same length.
        const started = Date.now();
        for (;;) {
          const history = await handle.fetchHistory();
          const events = history.events ?? [];
          const planned = events.some(
            (e) =>
              e.activityTaskCompletedEventAttributes &&
              events.some(
                (s) =>
                  Number(s.eventId) === Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) &&
                  s.activityTaskScheduledEventAttributes?.activityType?.name === 'planJob',
              ),
          );
          if (planned) break;
          if (Date.now() - started > 60_000) throw new Error('the plan did not complete in 60 s');
          await new Promise((r) => setTimeout(r, 100));
        }
        const path = fileURLToPath(inputUri);
        const original = await readFile(path, 'utf8');
        await writeFile(path, original.replace(/req-/g, 'new-'));
        return await awaitJobSummary(handle);
      })
      .finally(() => env.emulator.setConfig({ faults: { 'files.create': null } }));
    expect(summary.status).toBe('completed');
    const results = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(results);
    expect([...ids.keys()].sort()).toEqual(Array.from({ length: 60 }, (_, i) => `req-${i}`).sort());
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(statuses).toEqual({ succeeded: 60 });
  });
});
