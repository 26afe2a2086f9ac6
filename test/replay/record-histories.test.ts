// Records the histories the replay test checks. Runs only with RECORD_HISTORIES=1:
//   RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts
//   RECORD_HISTORIES=1 RECORD_ONLY=v2-deadline npx vitest run test/replay/record-histories.test.ts
// Add-only: a stored history is never rewritten. A scenario whose files exist is skipped, and every
// file is written with the `wx` flag (the write fails if the file appeared meanwhile). After an
// intended, versioned change to the workflows, add a scenario under a new name; the old files stay,
// as running jobs may still carry their histories. `RECORD_ONLY` (comma-separated names) picks scenarios.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { planJob } from '../../src/plan/index.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, gatedWorker, untilCancelHandled } from '../support/activity-gate.ts';
import { FAST_CREATE_TIMING, FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import { deliverBatchEvent, startTestReceiver } from '../support/webhook-receiver.ts';
import { until } from '../support/until.ts';
import { cancelWithChunkReport } from '../support/cancel-with-report.ts';
import { cancelChunkAsItEnds } from '../support/cancel-chunk-as-it-ends.ts';
import { deleteChunkInputOnceCreated } from '../support/delete-chunk-input.ts';

const record = process.env['RECORD_HISTORIES'] === '1';
const only = process.env['RECORD_ONLY']?.split(',').filter(Boolean);
const historiesDir = new URL('histories/', import.meta.url);

function historyUrl(file: string): URL {
  return new URL(`${file}.json`, historiesDir);
}

/** Whether scenario `name` is to be recorded now: asked for, and none of its files stored yet. */
function wanted(name: string): boolean {
  if (only && !only.includes(name)) return false;
  return !existsSync(historyUrl(`${name}-job`));
}

/** Writes one history; refuses (throws) if the file exists. */
async function saveNew(file: string, json: string): Promise<void> {
  await writeFile(historyUrl(file), json, { flag: 'wx' });
}

/**
 * Saves every run of `workflowId` (the latest as `file`, earlier ones as `file-previous-run[-N]`),
 * and returns the ids of the child workflows those runs started.
 */
async function saveRuns(env: JobEnv, file: string, workflowId: string): Promise<string[]> {
  const children: string[] = [];
  let runId: string | undefined;
  for (let n = 0; ; n++) {
    const history = await env.conn.client.workflow.getHandle(workflowId, runId).fetchHistory();
    for (const e of history.events ?? []) {
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child && !children.includes(child)) children.push(child);
    }
    await saveNew(n === 0 ? file : `${file}-previous-run${n === 1 ? '' : `-${n}`}`, historyToJSON(history));
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return children;
  }
}

/** Saves the job's runs as `name-job` and each chunk's as `name-r1-c0` (the part of its id after the job's). */
async function saveJobTree(env: JobEnv, name: string, jobId: string): Promise<void> {
  const chunks = await saveRuns(env, `${name}-job`, jobId);
  for (const chunkId of chunks) {
    await saveRuns(env, `${name}-${chunkId.slice(jobId.length + 1).replaceAll('/', '-')}`, chunkId);
  }
}

function settled(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => v,
    (err: unknown) => err,
  );
}

type Handle = WorkflowHandle & Awaited<ReturnType<typeof startBatchJob>>;

interface Scenario {
  /** Job options added to the defaults (200 rows, 100 per chunk, FAST_WAIT). */
  input?: Record<string, unknown>;
  rows?: number;
  /** Job options that depend on the input (computed just before the start). */
  prepare?: (env: JobEnv, inputUri: string) => Promise<Record<string, unknown>>;
  createWorker?: (env: JobEnv) => Promise<Worker>;
  /** What the test does while the job runs; the job's end is awaited after it. */
  drive?: (handle: Handle, jobId: string, env: JobEnv) => Promise<void>;
  /** Runs the job with workers of its own (instead of one worker for the whole job) to its end. */
  runJob?: (handle: Handle, jobId: string, env: JobEnv) => Promise<unknown>;
}

async function recordScenario(env: JobEnv, name: string, scenario: Scenario): Promise<void> {
  const jobId = `replay-${name}-${Date.now()}`;
  const inputUri = await writeChatInput(env, scenario.rows ?? 200, { file: `${name}.jsonl` });
  const prepared = (await scenario.prepare?.(env, inputUri)) ?? {};
  const start = async () =>
    (await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri,
        endpoint: '/v1/chat/completions',
        limits: { maxRequests: 100 },
        wait: FAST_WAIT,
        ...scenario.input,
        ...prepared,
      },
      { taskQueue: env.taskQueue },
    )) as Handle;
  if (scenario.runJob) {
    await scenario.runJob(await start(), jobId, env);
  } else {
    const worker = await (scenario.createWorker ?? ((e: JobEnv) => e.createWorker()))(env);
    await worker.runUntil(async () => {
      const handle = await start();
      await scenario.drive?.(handle, jobId, env);
      await settled(handle.result());
    });
  }
  await saveJobTree(env, name, jobId);
}

describe.skipIf(!record)('recording histories for the replay test (add-only)', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('record', { rowsPerSecond: 100 });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function save(name: string, workflowId: string): Promise<void> {
    const history = await env.conn.client.workflow.getHandle(workflowId).fetchHistory();
    await saveNew(name, historyToJSON(history));
  }

  async function runScenario(
    name: string,
    input: Record<string, unknown>,
    chunks: number,
    cancelAfterMs?: number,
  ): Promise<void> {
    const jobId = `replay-${name}-${Date.now()}`;
    const inputUri = await writeChatInput(env, 200, { file: `${name}.jsonl` });
    const worker = await env.createWorker();
    let firstRunId = '';
    await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 }, wait: FAST_WAIT, ...input },
        { taskQueue: env.taskQueue },
      );
      firstRunId = handle.firstExecutionRunId;
      if (cancelAfterMs !== undefined) {
        await new Promise((r) => setTimeout(r, cancelAfterMs));
        await handle.cancel();
      }
      await handle.result().catch(() => undefined);
    });
    await save(`${name}-job`, jobId);
    if (input['continueAsNewAfterEvents']) {
      // The first run, which ended in continue-as-new while chunks ran.
      const history = await env.conn.client.workflow.getHandle(jobId, firstRunId).fetchHistory();
      await saveNew(`${name}-job-first-run`, historyToJSON(history));
    }
    for (let c = 0; c < chunks; c++) {
      await save(`${name}-r1-c${c}`, `${jobId}/r1/c${c}`);
      // A chunk that continued-as-new: keep its earlier run too.
      const latest = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).fetchHistory();
      const previousRunId = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (previousRunId) {
        const previous = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`, previousRunId).fetchHistory();
        await saveNew(`${name}-r1-c${c}-previous-run`, historyToJSON(previous));
      }
    }
  }

  // The first histories (2026-11-21). Stored: skipped unless their files are removed by hand.
  const first = ['completed', 'retry-round', 'cancelled', 'token-limit', 'continued', 'chunk-continued'];
  it.skipIf(!first.every(wanted))(
    'records a completed job, a retry round, a cancelled job and a token-limit resubmission',
    async () => {
      env.emulator.setConfig({ rowsPerSecond: 'instant' });
      await runScenario('completed', {}, 2);
      env.emulator.setConfig({ rowErrors: { server_error: 0.2 } });
      await runScenario('retry-round', { maxRounds: 3 }, 2);
      env.emulator.setConfig({ rowErrors: { server_error: 0 }, rowsPerSecond: 20 });
      await runScenario('cancelled', {}, 2, 4_000);
      env.emulator.setConfig({ rowsPerSecond: 100, enqueuedTokenLimit: { 'gpt-4o-mini': 3_000 } });
      await runScenario('token-limit', { maxActiveBatches: 2 }, 2);
      env.emulator.setConfig({ rowsPerSecond: 'instant', enqueuedTokenLimit: { 'gpt-4o-mini': null } });
      await runScenario(
        'continued',
        { limits: { maxRequests: 50 }, maxActiveBatches: 2, continueAsNewAfterEvents: 50 },
        4,
      );
      env.emulator.setConfig({ rowsPerSecond: 25 });
      await runScenario(
        'chunk-continued',
        { continueAsNewAfterEvents: 50, wait: { ...FAST_WAIT, progressRefreshMs: 500 } },
        2,
      );
    },
  );
});

// The paths added on 2026-12-01/02 (the patch ids in workflows/patches.ts), one job per scenario,
// each in an emulator of its own. test/replay/patch-coverage.test.ts checks that every patch id
// is in some stored history.
describe.skipIf(!record)('recording histories of the patched paths (add-only)', () => {
  const envs: JobEnv[] = [];
  afterAll(async () => {
    for (const env of envs) await env.close();
  });
  async function envWith(name: string, config: Parameters<typeof startJobEnv>[1]): Promise<JobEnv> {
    const env = await startJobEnv(`record-${name}`, config);
    envs.push(env);
    return env;
  }
  function recordIt(name: string, what: string, config: Parameters<typeof startJobEnv>[1], scenario: Scenario) {
    it.skipIf(!wanted(name))(
      `${name}: ${what}`,
      async () => {
        await recordScenario(await envWith(name, config), name, scenario);
      },
      300_000,
    );
  }

  recordIt(
    'v2-progress',
    'a completed job whose chunks report progress (batch ids and percent published, create settles, finalize once)',
    { rowsPerSecond: 25 },
    { input: { wait: { ...FAST_WAIT, progressRefreshMs: 500 } } },
  );

  recordIt(
    'v2-token-cap',
    'token_limit_exceeded on every submission: resubmitted up to the cap, continuing as new, then recorded failed',
    { rowsPerSecond: 'instant', enqueuedTokenLimit: { 'gpt-4o-mini': 1 } },
    {
      rows: 20,
      input: {
        maxRounds: 1,
        limits: { maxRequests: 10 },
        continueAsNewAfterEvents: 50,
        wait: { ...FAST_WAIT, tokenLimitBackoffMs: 300, maxTokenLimitRetries: 3 },
      },
    },
  );

  recordIt(
    'v2-cancel-slow-create',
    'a cancel while a slow create is in flight: the create settles, its batch is cancelled and collected',
    { rowsPerSecond: 5, faults: { 'batches.create': { latencyMs: 4_000 } } },
    {
      rows: 100,
      input: { limits: { maxRequests: 200 } },
      drive: async (handle, _jobId, env) => {
        await until(
          'the create to reach the emulator',
          () => Promise.resolve((env.emulator.stats().callsPerRoute['batches.create'] ?? 0) > 0),
          60_000,
          20,
        );
        await handle.cancel();
      },
    },
  );

  recordIt(
    'v2-cancel-unsubmitted',
    'a cancel after the upload, before any create: the input file is deleted',
    { rowsPerSecond: 50, faults: { 'batches.list': { latencyMs: 8_000 } } },
    {
      rows: 100,
      input: { limits: { maxRequests: 200 } },
      drive: async (handle, _jobId, env) => {
        await until(
          'createBatch to search for the key',
          () => Promise.resolve((env.emulator.stats().callsPerRoute['batches.list'] ?? 0) > 0),
          120_000,
          20,
        );
        await handle.cancel();
      },
    },
  );

  let failNextPoll = false;
  recordIt(
    'v2-fail-running',
    'a chunk failing while its batch runs: the batch is cancelled and collected',
    { rowsPerSecond: 2 },
    {
      rows: 40,
      input: { maxRounds: 1 },
      createWorker: async (env) =>
        await Worker.create({
          connection: env.conn.nativeConnection,
          namespace: devServer().namespace,
          taskQueue: env.taskQueue,
          plugins: [
            new OpenAIBatchPlugin({
              storageRoot: env.storageRoot,
              openaiBaseUrl: env.emulator.baseURL,
              openaiApiKey: 'sk-test-not-a-secret',
              crashHook: (point) => {
                if (point !== 'during-poll' || !failNextPoll) return;
                failNextPoll = false;
                throw ApplicationFailure.nonRetryable('injected: this poll fails for good', 'Test.PollFailed');
              },
            }),
          ],
        }),
      drive: async (handle) => {
        await until('some rows of the batch are done', async () => {
          const progress = await getJobProgress(handle).catch(() => undefined);
          return progress?.active.some((a) => a.phase === 'waiting' && a.done > 0) ?? false;
        });
        failNextPoll = true;
      },
    },
  );

  recordIt(
    'v2-cancel-refused',
    'a cancel refused by OpenAI (401): the chunk still records its rows and reports',
    { rowsPerSecond: 2 },
    {
      rows: 40,
      input: { maxRounds: 1, wait: { ...FAST_WAIT, minPollMs: 60_000, maxPollMs: 60_000 } },
      drive: async (handle, jobId, env) => {
        const chunkId = `${jobId}/r1/c0`;
        await until('the chunk waits on its batch', async () => {
          const progress = await getJobProgress(handle).catch(() => undefined);
          if (!progress?.active.some((a) => a.phase === 'waiting' && a.batchId !== undefined)) return false;
          const pending = (await env.conn.client.workflow.getHandle(chunkId).describe()).raw.pendingActivities ?? [];
          return pending.some((a) => a.activityType?.name === 'waitForBatch' && (a.attempt ?? 0) >= 2);
        });
        env.emulator.setConfig({ apiKeys: ['sk-another-key'] });
        await handle.cancel();
        await until('the chunk workflow ended', async () => {
          const status = (await env.conn.client.workflow.getHandle(chunkId).describe()).status.name;
          return status !== 'RUNNING';
        });
        env.emulator.setConfig({ apiKeys: [] });
      },
    },
  );

  const stuckCancel = new ActivityGate('cancelBatch');
  recordIt(
    'v2-cancel-stuck',
    'a cancelled job whose chunk is stuck in its cancel path: terminated after the grace, its batch collected',
    { rowsPerSecond: 4 },
    {
      input: { maxActiveBatches: 1 },
      createWorker: async (env) => await gatedWorker(env, stuckCancel),
      drive: async (handle) => {
        await until(
          'chunk 0 to run its batch',
          async () =>
            (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.index === 0 && c.done > 0) ??
            false,
        );
        await handle.cancel();
        await stuckCancel.entered;
        const ended = settled(handle.result());
        await Promise.race([ended, new Promise((r) => setTimeout(r, 150_000))]);
        stuckCancel.release();
      },
    },
  );

  recordIt(
    'v2-lost-unreported',
    'a chunk terminated before it reported its batch: recovery finds the batch by its key, cancels and collects it',
    { rowsPerSecond: 4, faults: { 'batches.list': { latencyMs: 3_000 } } },
    {
      rows: 100,
      input: { maxRounds: 1 },
      createWorker: async (env) =>
        await env.createWorker({ createBatchTiming: { ...FAST_CREATE_TIMING, sendWindowMs: 5_000 } }),
      drive: async (handle, jobId, env) => {
        await until('the batch to exist at OpenAI', () =>
          Promise.resolve((env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0) >= 1),
        );
        expect((await getJobProgress(handle)).active[0]?.batchId).toBeUndefined();
        await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('terminated before it reported its batch');
      },
    },
  );

  recordIt(
    'v2-recovery-refused',
    'recovery of a terminated chunk whose download is refused for good: the job still ends',
    { rowsPerSecond: 4 },
    {
      rows: 100,
      input: { maxRounds: 1 },
      drive: async (handle, jobId, env) => {
        await until(
          'the batch to have rows done',
          async () => (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.done > 2) ?? false,
        );
        env.emulator.setConfig({ faults: { 'files.content': { unauthorized: 1 } } });
        await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
        await settled(handle.result());
        env.emulator.setConfig({ faults: { 'files.content': null } });
      },
    },
  );

  const skip = new ActivityGate('collectChunk', (input) => input['end'] === 'not_submitted');
  recordIt(
    'v2-cancel-during-skip',
    'a cancel while a budget skip is recorded: the skipped chunk is left to the cancel branch',
    { rowsPerSecond: 4 },
    {
      rows: 300,
      createWorker: async (env) => await gatedWorker(env, skip),
      input: { maxRounds: 1 },
      prepare: async (env, inputUri) => {
        // Chunk 0 runs (slowly); chunks 1 and 2 are over budget: the first skip is held while the job is cancelled.
        const estimate = await planJob(
          { jobId: `estimate-${Date.now()}`, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 } },
          openStorage(env.storageRoot),
        );
        return { maxCostUsd: (estimate.chunks[0]?.estimatedCostUsd ?? 0) * 1.5 };
      },
      drive: async (handle, _jobId, env) => {
        await skip.entered;
        await handle.cancel();
        await untilCancelHandled(env.conn.client, handle);
        skip.release();
      },
    },
  );

  recordIt(
    'v2-deadline',
    'a job cut by its deadline ends deadline_exceeded',
    { rowsPerSecond: 20 },
    {
      rows: 600,
      input: { limits: { maxRequests: 300 } },
      prepare: () => Promise.resolve({ deadline: Date.now() + 6_000 }),
    },
  );

  recordIt(
    'v2-cancel-with-report',
    "a cancel in the same job workflow task as a chunk's report: the chunk not yet started is recorded cancelled",
    { rowsPerSecond: 25 },
    { input: { maxActiveBatches: 1 }, runJob: (handle, jobId, env) => cancelWithChunkReport(env, handle, jobId) },
  );

  recordIt(
    'v2-cancel-as-it-ends',
    'a chunk cancelled in the workflow task in which its collect completes still sends its done signal',
    { faults: { 'files.content': { latencyMs: 6_000 } } },
    { rows: 100, runJob: (handle, jobId, env) => cancelChunkAsItEnds(env, handle, jobId) },
  );

  /** A retry round from stored parts, continue-as-new, finalize from parts: two recordings use it. */
  const STORED_RETRY_ROUND = [
    { rowsPerSecond: 'instant', rowErrors: { server_error: 0.2 } },
    {
      rows: 60,
      input: { limits: { maxRequests: 10 }, maxActiveBatches: 2, maxRounds: 2, continueAsNewAfterEvents: 60 },
    },
  ] as const;

  recordIt(
    'v2-results-in-storage',
    'chunk results and chunk lists in storage: a retry round from stored parts, continue-as-new, finalize from parts',
    ...STORED_RETRY_ROUND,
  );

  recordIt(
    'v4-retry-parts-as-range',
    'the same with pending retries in stored parts counted as one range of part numbers: a retry round reads the range',
    ...STORED_RETRY_ROUND,
  );

  recordIt(
    'v2-lean-wakes',
    'results in storage with lean wakes: one quiet-check timer across wakes, search attributes upserted when they change (deferred within 5 s)',
    { rowsPerSecond: 4 },
    {
      rows: 200,
      input: { limits: { maxRequests: 50 }, maxActiveBatches: 4, maxRounds: 1 },
    },
  );

  recordIt(
    'v2-webhook-wake',
    "a batch.completed webhook ends the chunk's wait at once (slow polls): one confirming poll, then the collect",
    { finalizingSeconds: 2 },
    {
      rows: 20,
      input: { wait: { ...FAST_WAIT, minPollMs: 600_000, maxPollMs: 600_000, progressRefreshMs: 3_600_000 } },
      drive: async (handle, _jobId, env) => {
        const receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
        env.emulator.setConfig({ webhooks: { url: receiver.url, retryDelaysMs: [200, 200] } });
        try {
          await settled(handle.result());
        } finally {
          await receiver.close();
        }
      },
    },
  );

  recordIt(
    'v3-webhook-early-hint',
    'a hint before the batch ends (webhooks: true): quick confirming polls, a second hint skipped, the schedule resumed, then the end delivered',
    { rowsPerSecond: 0.5 },
    {
      rows: 10,
      input: {
        wait: { ...FAST_WAIT, minPollMs: 1_000, maxPollMs: 10_000, progressRefreshMs: 3_600_000, webhooks: true },
      },
      drive: async (handle, jobId, env) => {
        const receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
        env.emulator.setConfig({ webhooks: { url: receiver.url, retryDelaysMs: [200, 200] } });
        try {
          const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
          const history = async () => (await chunk.fetchHistory().catch(() => undefined))?.events ?? [];
          const isWait = (e: Awaited<ReturnType<typeof history>>[number]) =>
            e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch';
          await until('the batch runs', () =>
            Promise.resolve(env.emulator.inventory().batches[0]?.status === 'in_progress'),
          );
          await until('the chunk waits', async () => (await history()).some(isWait));
          const batchId = env.emulator.inventory().batches[0]?.id as string;
          expect(await deliverBatchEvent(receiver.url, batchId)).toBe('signalled');
          await until('the confirming wait is scheduled', async () => {
            const events = await history();
            const signal = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
            return signal >= 0 && events.slice(signal).some(isWait);
          });
          expect(await deliverBatchEvent(receiver.url, batchId)).toBe('signalled');
          await settled(handle.result());
        } finally {
          await receiver.close();
        }
      },
    },
  );

  recordIt(
    'v3-token-limit-reupload',
    "token_limit_exceeded past the input file's TTL (the emulator keeps files 6 s): the resubmission uploads again",
    { rowsPerSecond: 150, fileTtlScale: 6 / 3_600, enqueuedTokenLimit: { 'gpt-4o-mini': 3_000 } },
    {
      rows: 200,
      input: {
        maxRounds: 1,
        maxActiveBatches: 2,
        openaiFileTtlSeconds: 3_600,
        wait: { ...FAST_WAIT, tokenLimitBackoffMs: 8_000 },
      },
    },
  );

  recordIt(
    'v3-recovery-wait-bounded',
    'a terminated chunk whose batch never finishes cancelling: recovery gives up after recoveryWaitMs',
    { rowsPerSecond: 4, cancellingSeconds: 3_600 },
    {
      rows: 100,
      input: { maxRounds: 1, limits: { maxRequests: 200 }, wait: { ...FAST_WAIT, recoveryWaitMs: 10_000 } },
      drive: async (handle, jobId, env) => {
        await until(
          'the batch to have rows done',
          async () => (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.done > 2) ?? false,
        );
        await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      },
    },
  );

  // A job whose chunk is stuck in its create, cancelled: terminated after the grace, no batch found.
  const stuckCreate = () => {
    const held = new ActivityGate('createBatch');
    return {
      rows: 100,
      input: { maxRounds: 1, limits: { maxRequests: 200 } },
      createWorker: async (env: JobEnv) => await gatedWorker(env, held),
      drive: async (handle: Handle, _jobId: string, env: JobEnv) => {
        await held.entered;
        await handle.cancel();
        await settled(handle.result());
        env.emulator.setConfig({ faults: { 'batches.create': { unauthorized: 1 } } });
        held.release();
      },
    };
  };
  recordIt(
    'v3-cancel-stuck-create',
    'a cancelled job whose chunk is stuck in its create: terminated after the grace, its rows cancelled / not_submitted',
    { rowsPerSecond: 4 },
    stuckCreate(),
  );
  recordIt(
    'v4-lost-chunk-deletes-input',
    'the same, with lost-chunk-deletes-input: its input file deleted by name, since no batch uses it',
    { rowsPerSecond: 4 },
    stuckCreate(),
  );

  const heldUpload = new ActivityGate('uploadChunk');
  recordIt(
    'v4-cancel-many-unstarted',
    'a job of 120 one-row chunks cancelled during its first upload: the 119 never started are recorded 100 at a time',
    { rowsPerSecond: 100 },
    {
      rows: 120,
      input: { maxRounds: 1, maxActiveBatches: 1, limits: { maxRequests: 1 } },
      createWorker: async (env) => await gatedWorker(env, heldUpload),
      drive: async (handle, _jobId, env) => {
        await heldUpload.entered;
        await handle.cancel();
        await untilCancelHandled(env.conn.client, handle);
        heldUpload.release();
      },
    },
  );

  recordIt(
    'v5-unrecorded-rows-fail-job',
    "a job whose only chunk's input is deleted while its batch runs: every collect fails, and the job fails after its report",
    { rowsPerSecond: 5 },
    {
      rows: 20,
      createWorker: async (env) => await env.createWorker({ jobFileAttempts: 2 }),
      drive: async (_handle, jobId, env) => await deleteChunkInputOnceCreated(env, jobId),
    },
  );

  recordIt(
    'v5-skip-failure-is-unrecorded',
    'the same input deleted, then the job cancelled with its second chunk unstarted: that skip cannot record its rows, and the job still ends cancelled with its report',
    { rowsPerSecond: 5 },
    {
      rows: 20,
      input: { limits: { maxRequests: 10 }, maxActiveBatches: 1 },
      createWorker: async (env) => await env.createWorker({ jobFileAttempts: 2 }),
      drive: async (handle, jobId, env) => {
        await deleteChunkInputOnceCreated(env, jobId);
        await handle.cancel();
      },
    },
  );
});
