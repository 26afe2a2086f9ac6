// A hint that comes before `retrieve` shows the end (OpenAI's event and its API need not agree at
// once), and a second hint while the wake's confirming polls run. Deliveries are POSTed to the
// project's receiver by the test, signed as OpenAI signs them, while the batch still runs.
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import { waitActivityBoundMs, waitSchedule, WAKE_QUICK_POLLS } from '../../common/webhook-wait.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { WEBHOOK_WAKE_CONFIRMS } from '../../workflows/patches.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';
import { deliverBatchEvent, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Quick polls 2 s apart; the stretched schedule polls every 25% of the batch's age (> 2 s once it is 8 s old). */
const WAIT = { ...FAST_WAIT, minPollMs: 2_000, maxPollMs: 60_000, progressRefreshMs: 3_600_000, webhooks: true };

const isWait = (e: HistoryEvent) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch';

describe('a webhook hint that comes before the batch ends', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  let worker: Worker;
  let running: Promise<void>;
  let jobId: string;

  beforeAll(async () => {
    // No row done for two minutes: the batch is in_progress 0/20 throughout the test.
    env = await startJobEnv('webhook-confirms', { rowsPerSecond: 1 / 120 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
    worker = await env.createWorker();
    running = worker.run();
  });
  afterAll(async () => {
    await env?.conn.client.workflow
      .getHandle(jobId)
      .terminate('test over')
      .catch(() => undefined);
    worker?.shutdown();
    await running?.catch(() => undefined);
    await receiver?.close();
    await env?.close();
  });

  const deliver = (batchId: string) => deliverBatchEvent(receiver.url, batchId);

  it('is confirmed by quick polls at minPollMs, then the schedule resumes; a second hint meanwhile wakes nothing', async () => {
    jobId = `wh-confirms-${Date.now()}`;
    const input = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    await startBatchJob(
      env.conn.client,
      { jobId, inputUri: input, endpoint: '/v1/chat/completions', wait: WAIT },
      { taskQueue: env.taskQueue },
    );
    const chunk = env.conn.client.workflow.getHandle(`${jobId}/r1/c0`);
    const history = async () => (await chunk.fetchHistory()).events ?? [];
    await until('the batch runs', () => Promise.resolve(env.emulator.inventory().batches[0]?.status === 'in_progress'));
    const batch = env.emulator.inventory().batches[0];
    const batchId = batch?.id as string;
    // Old enough that the stretched schedule's delay (25% of the age) is over minPollMs.
    const ageMs = () => Date.now() - (batch?.created_at ?? 0) * 1000;
    await until('the batch is 10 s old', () => Promise.resolve(ageMs() > 10_000), 30_000, 200);
    await until('the chunk waits', async () => (await history()).some(isWait));

    expect(await deliver(batchId)).toBe('signalled');
    // The wake: the wait in progress is cancelled and a confirming wait scheduled.
    let confirm: HistoryEvent | undefined;
    await until(
      'the confirming wait is scheduled',
      async () => {
        const events = await history();
        const signal = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
        confirm = signal < 0 ? undefined : events.slice(signal).find(isWait);
        return confirm !== undefined;
      },
      60_000,
      50,
    );
    // A second delivery of the same end (another webhook-id: a retry that reached another receiver).
    expect(await deliver(batchId)).toBe('signalled');

    // While the confirming wait runs, each retry comes minPollMs after the last poll.
    const retryDelaysMs = new Set<number>();
    const confirmedAt = async () => {
      const events = await history();
      return events.find(
        (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === confirm?.eventId?.toString(),
      );
    };
    let completed: HistoryEvent | undefined;
    await until(
      'the confirming wait hands back while the batch still runs',
      async () => {
        const pending = (await chunk.describe()).raw.pendingActivities ?? [];
        for (const a of pending) {
          const delay = a.lastFailure?.applicationFailureInfo?.nextRetryDelay;
          if (a.activityId === confirm?.activityTaskScheduledEventAttributes?.activityId && delay)
            retryDelaysMs.add(Number(delay.seconds ?? 0) * 1000 + Math.round((delay.nanos ?? 0) / 1e6));
        }
        completed = await confirmedAt();
        return completed !== undefined;
      },
      60_000,
      100,
    );
    const events = await history();
    const snapshot = defaultPayloadConverter.fromPayload<BatchSnapshot>(
      completed?.activityTaskCompletedEventAttributes?.result?.payloads?.[0] ?? {},
    );
    expect(snapshot.status).toBe('in_progress');
    const started = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        e.eventId?.toString() === completed?.activityTaskCompletedEventAttributes?.startedEventId?.toString(),
    );
    // The poll at once, then WAKE_QUICK_POLLS more.
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1 + WAKE_QUICK_POLLS);
    expect(retryDelaysMs.size).toBeGreaterThan(0);
    expect(
      [...retryDelaysMs].every((d) => d === WAIT.minPollMs),
      `retry delays ${[...retryDelaysMs].join(', ')}`,
    ).toBe(true);
    // The schedule resumes in a new wait, which a later hint could wake again. It is found by its
    // place after the confirming wait's completion: it may already be in `events`.
    const completedId = Number(completed?.eventId ?? 0);
    await until('the next wait is scheduled', async () =>
      (await history()).some((e) => isWait(e) && Number(e.eventId ?? 0) > completedId),
    );

    const all = await history();
    expect(all.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'batchEnded')).toHaveLength(2);
    // Only the first hint cancelled a wait.
    expect(all.filter((e) => e.activityTaskCancelRequestedEventAttributes)).toHaveLength(1);
    // Every wait is bounded by the stretched refresh, not the one given.
    const bounds = all.filter(isWait).map((e) => {
      const t = e.activityTaskScheduledEventAttributes?.scheduleToCloseTimeout;
      return Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
    });
    expect(new Set(bounds)).toEqual(new Set([waitActivityBoundMs(waitSchedule(WAIT).refreshMs)]));
    const patches = all
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => {
        const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0];
        return data ? defaultPayloadConverter.fromPayload<{ id: string }>(data).id : undefined;
      });
    expect(patches).toContain(WEBHOOK_WAKE_CONFIRMS);
  });
});
