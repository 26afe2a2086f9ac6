// A cancelled job of many chunks records the chunks it never started a part (up to 100) at a time,
// in one collectNotSubmitted activity: its cancel branch (which never continues as new) stays short
// whatever the chunk count (issue 11). An attempt that fails part-way (a storage error, a worker
// killed) is retried: the retry resumes after the chunks already recorded (their outcomes are in its
// heartbeat details) instead of recording them all again.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/index.ts';
import type { CrashPoint } from '../../activities/index.ts';
import { ActivityGate, cancelWhileGated, gatedWorker, gatedWorkerWith } from '../support/activity-gate.ts';
import { readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

const CHUNKS = 250;
/** The resume case: 61 chunks, the attempt fails after recording 30. */
const RESUME_CHUNKS = 61;
const FAIL_AFTER = 30;

describe('a job of many chunks cancelled before most of them started', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('cancel-many-unstarted');
  });
  afterAll(async () => {
    await env?.close();
  });

  it(`${CHUNKS} chunks, one started: every row cancelled once, in a history that does not grow by a workflow task per chunk`, async () => {
    const jobId = `cancel-many-unstarted-${Date.now()}`;
    const inputUri = await writeChatInput(env, CHUNKS, { file: 'cancel-many-unstarted.jsonl' });
    // Chunk 0's upload is held while the job is cancelled; the others wait for the single slot.
    const upload = new ActivityGate('uploadChunk');
    const worker = await gatedWorker(env, upload);
    const outcome = await cancelWhileGated(env, worker, upload, {
      jobId,
      inputUri,
      endpoint: '/v1/chat/completions',
      limits: { maxRequests: 1 },
      maxActiveBatches: 1,
    });
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);

    const rows = await readJsonlFile<{ custom_id: string; status: string; error: { code: string } | null }>(
      env.storageRoot,
      openStorage(env.storageRoot).jobUri(jobId, 'results.jsonl'),
    );
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(CHUNKS);
    expect(ids.size).toBe(CHUNKS);
    expect(statuses).toEqual({ cancelled: CHUNKS });
    expect(new Set(rows.map((r) => r.error?.code))).toEqual(new Set(['not_submitted']));

    const history = await env.conn.client.workflow.getHandle(jobId).fetchHistory();
    const events = history.events ?? [];
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    const count = (name: string) => activities.filter((a) => a === name).length;
    console.log(
      `[cancel-many-unstarted] ${CHUNKS} chunks: ${events.length} events, collectNotSubmitted ${count('collectNotSubmitted')}, ` +
        `collectChunk ${count('collectChunk')}, storeChunkResults ${count('storeChunkResults')}`,
    );
    // One activity per part of 100 chunks (3 here), none per chunk; each chunk cost 6 events before.
    expect(count('collectChunk')).toBe(0);
    expect(count('collectNotSubmitted')).toBe(Math.ceil((CHUNKS - 1) / 100));
    expect(events.length).toBeLessThan(CHUNKS);
  }, 300_000);

  it('a recording that fails part-way is retried from the chunk it had reached: each chunk recorded once, every row cancelled once', async () => {
    const jobId = `cancel-not-submitted-resume-${Date.now()}`;
    const inputUri = await writeChatInput(env, RESUME_CHUNKS, { file: 'cancel-not-submitted-resume.jsonl' });
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
    expect(recorded).toBe(RESUME_CHUNKS - 1);

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
    expect(rows).toHaveLength(RESUME_CHUNKS);
    expect(ids.size).toBe(RESUME_CHUNKS);
    expect(statuses).toEqual({ cancelled: RESUME_CHUNKS });
  }, 300_000);
});
