// A cancelled job of many chunks records the chunks it never started a part at a time: its cancel
// branch (which never continues as new) stays short whatever the chunk count (issue 11).
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/index.ts';
import { ActivityGate, cancelWhileGated, gatedWorker } from '../support/activity-gate.ts';
import { readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

const CHUNKS = 250;

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
});
