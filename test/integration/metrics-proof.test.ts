// The proof of the worker's metrics: a job with API faults and retry rounds runs on a real worker
// process (worker.ts, OPENAI_BATCH_METRICS_ADDRESS) against the dev server and the emulator; one
// scrape of its endpoint holds the SDK's worker metrics and the project's, and the project's
// counters equal report.json's counts, tokens and cost exactly. A second worker then replays every
// workflow of the job (queries on closed workflows replay their whole history) and emits none of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { chunkWorkflowId } from '../../common/job-options.ts';
import { chunkProgressQuery, progressQuery } from '../../common/messages.ts';
import { METRIC_LIST, METRICS } from '../../common/metric-names.ts';
import type { JobSummary, RowStatus, TokenUsage } from '../../common/job-types.ts';
import { freePort } from '../../src/tools/devserver/free-port.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { scrape, sumOf, type Sample } from '../support/prometheus-scrape.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';
import { until } from '../support/until.ts';
import { openStorage } from '../../src/storage/index.ts';

interface Report {
  readonly counts: Record<RowStatus, number>;
  readonly usage: TokenUsage;
  readonly costUsd: number;
  readonly syncCostUsd: number;
  readonly rounds: readonly { round: number; chunks: number; batchIds: string[] }[];
}

const JOB_NAME = 'metrics-proof';
const MODEL = 'gpt-4o-mini';

async function startMetricsWorker(env: JobEnv): Promise<{ worker: WorkerProcess; address: string }> {
  const address = `127.0.0.1:${await freePort()}`;
  const worker = spawnWorker({
    OPENAI_BATCH_METRICS_ADDRESS: address,
    OPENAI_BASE_URL: env.emulator.baseURL,
    OPENAI_API_KEY: 'sk-test-not-a-secret',
    OPENAI_BATCH_STORAGE_ROOT: env.storageRoot,
    OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
  });
  // The two lines can come in either order (CI once saw the poll line first): wait for both.
  await until(
    'the worker to poll and name its metrics address',
    () =>
      Promise.resolve(
        worker.output().includes('worker polling task queue') &&
          worker.output().includes(`metrics at http://${address}/metrics`),
      ),
    120_000,
  );
  return { worker, address };
}

function projectSamples(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => s.name.startsWith('openai_batch_'));
}

describe('worker metrics (Prometheus, through the SDK runtime)', () => {
  let env: JobEnv;
  let first: { worker: WorkerProcess; address: string } | undefined;
  let second: { worker: WorkerProcess; address: string } | undefined;
  beforeAll(async () => {
    env = await startJobEnv('metrics', {
      // Faults on the calls a job retries freely (creates are left alone: the default create windows
      // of worker.ts would make each uncertain create wait 30 s).
      faults: {
        'batches.retrieve': { rateLimit: 0.1, retryAfterSeconds: 0.2, serverError: 0.05, dropConnection: 0.05 },
        'files.content': { serverError: 0.1, dropConnection: 0.05 },
        'files.create': { serverError: 0.1 },
      },
      rowErrors: { server_error: 0.05, rate_limit_exceeded: 0.05, invalid_request_error: 0.02 },
      seed: 16,
    });
  });
  afterAll(async () => {
    await first?.worker.stop();
    await second?.worker.stop();
    await env?.close();
  });

  it("a job's counters equal report.json's counts, tokens and cost, and a replay of its history emits none again", async () => {
    first = await startMetricsWorker(env);
    const jobId = `metrics-${Date.now()}`;
    const inputUri = await writeChatInput(env, 1_200, { file: 'metrics.jsonl', model: MODEL });
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        name: JOB_NAME,
        inputUri,
        endpoint: '/v1/chat/completions',
        wait: FAST_WAIT,
        limits: { maxRequests: 400 },
        maxRounds: 4,
      },
      { taskQueue: env.taskQueue },
    );
    const summary: JobSummary = await handle.result();
    expect(summary.status).toBe('completed');
    expect(summary.rounds.length).toBeGreaterThanOrEqual(2);
    const report = JSON.parse(await readText(env, summary.reportUri)) as Report;
    const stats = env.emulator.stats();
    expect(stats.faultsInjectedTotal).toBeGreaterThan(0);

    const samples = await scrape(first.address);
    const job = { job_name: JOB_NAME, endpoint: '/v1/chat/completions', model: MODEL };
    // Rows by final status, tokens and cost: exactly report.json's.
    for (const [status, n] of Object.entries(report.counts))
      expect(sumOf(samples, METRICS.rows.name, { ...job, status }), `rows ${status}`).toBe(n);
    expect(sumOf(samples, METRICS.rows.name, job)).toBe(1_200);
    const kinds: Record<string, keyof TokenUsage> = {
      input: 'input',
      cached_input: 'cachedInput',
      output: 'output',
      reasoning: 'reasoning',
    };
    for (const [kind, key] of Object.entries(kinds))
      expect(sumOf(samples, METRICS.tokens.name, { ...job, kind }), `tokens ${kind}`).toBe(report.usage[key]);
    expect(report.usage.input).toBeGreaterThan(0);
    expect(sumOf(samples, `${METRICS.cost.name}_sum`, job)).toBe(report.costUsd);
    expect(sumOf(samples, `${METRICS.cost.name}_count`, job)).toBe(1);
    expect(sumOf(samples, `${METRICS.syncCost.name}_sum`, job)).toBe(report.syncCostUsd);
    expect(report.syncCostUsd).toBeGreaterThan(report.costUsd);
    expect(sumOf(samples, METRICS.jobs.name, { ...job, status: 'completed' })).toBe(1);
    expect(sumOf(samples, `${METRICS.jobDuration.name}_count`, job)).toBe(1);

    // Batches: every one the report names was created (or adopted) once and ended once.
    const batchIds = report.rounds.flatMap((r) => r.batchIds);
    // Chunk and activity metrics carry the job's labels too.
    const chunk = job;
    expect(
      sumOf(samples, METRICS.batchesCreated.name, chunk) + sumOf(samples, METRICS.batchesAdopted.name, chunk),
    ).toBe(new Set(batchIds).size);
    expect(sumOf(samples, METRICS.batchesEnded.name, { ...chunk, status: 'completed' })).toBe(new Set(batchIds).size);
    expect(sumOf(samples, `${METRICS.collectDelay.name}_count`, chunk)).toBe(new Set(batchIds).size);
    expect(sumOf(samples, `${METRICS.chunkDuration.name}_count`, chunk)).toBe(
      report.rounds.reduce((n, r) => n + r.chunks, 0),
    );
    // Activities: polls (each batches.retrieve that answered), bytes both ways.
    expect(sumOf(samples, METRICS.polls.name, job)).toBeGreaterThanOrEqual(new Set(batchIds).size);
    expect(sumOf(samples, METRICS.polls.name, { ...job, status: 'completed' })).toBeGreaterThanOrEqual(
      new Set(batchIds).size,
    );
    expect(sumOf(samples, METRICS.bytesUploaded.name, job)).toBeGreaterThan(0);
    expect(sumOf(samples, METRICS.bytesDownloaded.name, job)).toBeGreaterThan(0);
    // The SDK's own worker metrics are on the same scrape.
    expect(sumOf(samples, 'temporal_workflow_completed', { workflow_type: 'openAIBatchJob' })).toBe(1);
    // Every series the project exports is one of its list, with the list's labels and no id.
    const known = new Map(METRIC_LIST.map((m) => [m.name, m]));
    for (const s of projectSamples(samples)) {
      const spec = known.get(s.name.replace(/_(bucket|sum|count)$/, '')) ?? known.get(s.name);
      expect(spec, s.name).toBeDefined();
      for (const label of spec!.labels) expect(Object.keys(s.labels), `${s.name} labels`).toContain(label);
      expect(Object.values(s.labels).join(' ')).not.toContain(jobId);
      for (const id of batchIds) expect(Object.values(s.labels)).not.toContain(id);
    }

    // A fresh worker answers queries on the closed workflows: each is replayed from its whole history.
    await first.worker.stop();
    first = undefined;
    second = await startMetricsWorker(env);
    const jobProgress = await env.conn.client.workflow.getHandle(jobId).query(progressQuery);
    expect(jobProgress.phase).toBe('completed');
    for (const r of report.rounds)
      for (let c = 0; c < r.chunks; c++) {
        const p = await env.conn.client.workflow
          .getHandle(chunkWorkflowId(jobId, r.round, c))
          .query(chunkProgressQuery);
        expect(p.phase).toBe('done');
      }
    const replayed = await scrape(second.address);
    expect(projectSamples(replayed).filter((s) => s.value !== 0)).toEqual([]);
    // The replays ran on this worker (the SDK counts its workflow tasks), yet emitted nothing.
    expect(sumOf(replayed, 'temporal_workflow_task_execution_latency_count')).toBeGreaterThan(0);
  });
});

async function readText(env: JobEnv, uri: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of await openStorage(env.storageRoot).openRead(uri)) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}
