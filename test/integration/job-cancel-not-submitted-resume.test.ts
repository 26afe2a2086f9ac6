// A cancelled job records its never-started chunks a part (up to 100) at a time in one
// collectNotSubmitted activity. An attempt that fails part-way (a storage error, a worker killed)
// is retried: the retry resumes after the chunks already recorded (their outcomes are in its
// heartbeat details) instead of recording them all again (a review item of issue 11).
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/index.ts';
import type { CrashPoint } from '../../activities/index.ts';
import { ActivityGate, cancelWhileGated, gatedWorkerWith } from '../support/activity-gate.ts';
import { readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

const CHUNKS = 61;
const FAIL_AFTER = 30;

describe('a cancelled job whose recording of unstarted chunks fails part-way', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-not-submitted-resume');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('retries from the chunk it had reached: each chunk recorded once, every row cancelled once', async () => {
    const jobId = `cancel-not-submitted-resume-${Date.now()}`;
    const inputUri = await writeChatInput(env, CHUNKS, { file: 'cancel-not-submitted-resume.jsonl' });
    // Chunk 0's upload is held while the job is cancelled; the other 60 were never started.
    const upload = new ActivityGate('uploadChunk');
    let recorded = 0;
    const crashHook = (point: CrashPoint): void => {
      if (point !== 'between-not-submitted') return;
      recorded += 1;
      if (recorded === FAIL_AFTER) throw new Error(`test: the attempt fails after ${FAIL_AFTER} chunks`);
    };
    const worker = await gatedWorkerWith(env, { crashHook }, upload);
    const outcome = await cancelWhileGated(env, worker, upload, {
      jobId,
      inputUri,
      endpoint: '/v1/chat/completions',
      limits: { maxRequests: 1 },
      maxActiveBatches: 1,
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    // The failed attempt recorded 30 chunks; its retry the other 30, not all 60 again.
    expect(recorded).toBe(CHUNKS - 1);

    const history = await env.conn.client.workflow.getHandle(jobId).fetchHistory();
    const started = (history.events ?? []).filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(started.length, 'an activity retried').toBeGreaterThan(0);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(CHUNKS);
    expect(ids.size).toBe(CHUNKS);
    expect(statuses).toEqual({ cancelled: CHUNKS });
  }, 300_000);
});
