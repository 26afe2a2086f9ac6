// Recovery of a terminated chunk meets an error that retrying cannot fix (the output download is
// refused with a 401): the job must still finish, with a line for every row, not fail without a report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJobProgress, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';

describe('recovery of a terminated chunk that fails for good', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('recovery-refused', { rowsPerSecond: 4 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a refused download during recovery: the job still ends with every row in results.jsonl', async () => {
    const jobId = `recovery-refused-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'recovery-refused.jsonl' });
    const worker = await env.createWorker();
    const outcome = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', maxRounds: 1, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      await until(
        'the batch to have rows done',
        async () => (await getJobProgress(handle).catch(() => undefined))?.active.some((c) => c.done > 2) ?? false,
      );
      env.emulator.setConfig({ faults: { 'files.content': { unauthorized: 1 } } });
      await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).terminate('operator mistake');
      return await handle.result().then(
        (summary) => summary,
        (err: unknown) => err,
      );
    });
    expect(outcome, String(outcome)).not.toBeInstanceOf(Error);
    expect(env.emulator.stats().faultsInjected['files.content']?.['unauthorized'] ?? 0).toBeGreaterThan(0);
    const summary = outcome as Awaited<ReturnType<Awaited<ReturnType<typeof startBatchJob>>['result']>>;
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids } = tally(rows);
    expect(rows).toHaveLength(100);
    expect(ids.size).toBe(100);
    // Nothing is left running at OpenAI.
    expect(env.emulator.stats().batchesByStatus['cancelled']).toBe(1);
  });
});
