// Records the histories the replay test checks. Runs only with RECORD_HISTORIES=1:
//   RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts
// Re-record after an intended, versioned change to the workflows (and keep the old files if
// running jobs may still carry their histories).
import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

const record = process.env['RECORD_HISTORIES'] === '1';

describe.skipIf(!record)('recording histories for the replay test', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('record', { rowsPerSecond: 100 });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function save(name: string, workflowId: string): Promise<void> {
    const history = await env.conn.client.workflow.getHandle(workflowId).fetchHistory();
    await writeFile(new URL(`histories/${name}.json`, import.meta.url), historyToJSON(history));
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
      await writeFile(new URL(`histories/${name}-job-first-run.json`, import.meta.url), historyToJSON(history));
    }
    for (let c = 0; c < chunks; c++) {
      await save(`${name}-r1-c${c}`, `${jobId}/r1/c${c}`);
      // A chunk that continued-as-new: keep its earlier run too.
      const latest = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`).fetchHistory();
      const previousRunId = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (previousRunId) {
        const previous = await env.conn.client.workflow.getHandle(`${jobId}/r1/c${c}`, previousRunId).fetchHistory();
        await writeFile(
          new URL(`histories/${name}-r1-c${c}-previous-run.json`, import.meta.url),
          historyToJSON(previous),
        );
      }
    }
  }

  it('records a completed job, a retry round, a cancelled job and a token-limit resubmission', async () => {
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
  });
});
