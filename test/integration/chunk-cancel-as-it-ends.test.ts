// A chunk cancelled in the same workflow task in which its collect completes still sends its done
// signal: a signal sent from a cancelled scope is dropped, and a job that has continued as new since
// it started the chunk hears of its end only by that signal (patch done-signal-uncancellable).
// test/support/cancel-chunk-as-it-ends.ts puts both events in one chunk task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkWorkflowId } from '../../common/job-options.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { cancelChunkAsItEnds } from '../support/cancel-chunk-as-it-ends.ts';

describe('a chunk cancelled as its collect completes', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // The output download takes 6 s: long enough to stop the first worker while it runs.
    env = await startJobEnv('cancel-as-it-ends', { faults: { 'files.content': { latencyMs: 6_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('still sends its done signal to the job', async () => {
    const jobId = `cancel-as-it-ends-${Date.now()}`;
    const inputUri = await writeChatInput(env, 100, { file: 'cancel-as-it-ends.jsonl' });
    const client = env.conn.client;
    const handle = await startBatchJob(
      client,
      { jobId, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 100 }, wait: FAST_WAIT },
      { taskQueue: env.taskQueue },
    );
    await cancelChunkAsItEnds(env, handle, jobId);
    const events = (await client.workflow.getHandle(chunkWorkflowId(jobId, 1, 0)).fetchHistory()).events ?? [];
    const signals = events.flatMap((e) => {
      const name = e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName;
      return name ? [name] : [];
    });
    expect(signals).toContain('chunkDone');
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    expect(tally(rows).ids.size).toBe(100);
    expect(rows).toHaveLength(100);
  }, 300_000);
});
