import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { temporal } from '@temporalio/proto';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { newWebhookId, signDelivery } from '../../src/tools/emulator/webhooks/sign-event.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';
import { startTestReceiver, type TestReceiver } from '../support/webhook-receiver.ts';
import type { Worker } from '@temporalio/worker';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const OTHER_SECRET = `whsec_${Buffer.from('not-the-endpoint-secret!').toString('base64')}`;

function eventBody(batchId: string, type = 'batch.completed'): string {
  return JSON.stringify({
    id: `evt_${Date.now()}`,
    object: 'event',
    created_at: 1,
    type,
    data: { id: batchId },
  });
}

describe('the webhook receiver refuses bad input before any other work', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  let worker: Worker;
  let running: Promise<void>;
  let jobId: string;
  let batchId: string;

  async function post(body: string | Buffer, headers: Record<string, string>) {
    const response = await fetch(receiver.url, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as { outcome: string } };
  }
  async function batchEndedSignals(): Promise<number> {
    const events: HistoryEvent[] =
      (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
    return events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'batchEnded').length;
  }

  beforeAll(async () => {
    // One row a minute: the batch stays in_progress for the whole file.
    env = await startJobEnv('webhook-receiver', { rowsPerSecond: 1 / 60 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL, { maxBodyBytes: 65_536 });
    jobId = `wh-recv-${Date.now()}`;
    const input = await writeChatInput(env, 50, { file: `${jobId}.jsonl` });
    worker = await env.createWorker();
    running = worker.run();
    await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri: input,
        endpoint: '/v1/chat/completions',
        wait: { ...FAST_WAIT, minPollMs: 600_000, maxPollMs: 600_000, progressRefreshMs: 3_600_000 },
      },
      { taskQueue: env.taskQueue },
    );
    await until('the chunk has a batch', () => Promise.resolve(env.emulator.inventory().batches.length === 1));
    batchId = env.emulator.inventory().batches[0]?.id as string;
    await until('the chunk waits', async () => {
      const events = (await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
      return events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForBatch');
    });
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

  it('forged, modified, stale, oversized, non-JSON and unknown-type deliveries signal nothing and call neither OpenAI nor Temporal', async () => {
    const body = eventBody(batchId);
    const cases: {
      name: string;
      send: () => Promise<{ status: number; body: { outcome: string } }>;
      status: number;
      outcome: string;
    }[] = [
      {
        name: 'forged signature (another secret)',
        send: () => post(body, signDelivery(OTHER_SECRET, newWebhookId(), body)),
        status: 400,
        outcome: 'bad_signature',
      },
      {
        name: 'a valid signature on a modified body',
        send: () => post(eventBody('batch_someone_else'), signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body)),
        status: 400,
        outcome: 'bad_signature',
      },
      {
        name: 'a timestamp 10 minutes old',
        send: () => post(body, signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body, Date.now() - 600_000)),
        status: 400,
        outcome: 'stale_timestamp',
      },
      {
        name: 'a timestamp 10 minutes ahead',
        send: () => post(body, signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body, Date.now() + 600_000)),
        status: 400,
        outcome: 'stale_timestamp',
      },
      {
        name: 'no signature headers',
        send: () => post(body, { 'content-type': 'application/json' }),
        status: 400,
        outcome: 'missing_headers',
      },
      {
        name: 'a 10 MB body',
        send: () => {
          const big = Buffer.alloc(10 * 1024 * 1024, 'a');
          return post(big, signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), 'x'));
        },
        status: 413,
        outcome: 'too_large',
      },
      {
        name: 'a signed body that is not JSON',
        send: () => post('not json {', signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), 'not json {')),
        status: 400,
        outcome: 'not_json',
      },
      {
        name: 'an unknown event type',
        send: () => {
          const other = eventBody(batchId, 'batch.frobnicated');
          return post(other, signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), other));
        },
        status: 200,
        outcome: 'ignored_type',
      },
    ];
    for (const c of cases) {
      const answer = await c.send();
      expect([answer.status, answer.body.outcome], c.name).toEqual([c.status, c.outcome]);
    }
    expect(receiver.calls).toEqual({ openai: 0, temporalSignals: 0 });
    expect(await batchEndedSignals()).toBe(0);
    // Each refusal is counted in its log line.
    const counted = (reason: string, n: number) =>
      receiver.lines.some((l) => l.includes(`rejected ${reason} (${n} so far)`));
    expect(counted('bad_signature', 2)).toBe(true);
    expect(counted('stale_timestamp', 2)).toBe(true);
    expect(counted('missing_headers', 1)).toBe(true);
    expect(counted('too_large', 1)).toBe(true);
    expect(counted('not_json', 1)).toBe(true);
    expect(receiver.lines.some((l) => l.includes('event type "batch.frobnicated" ignored (1 so far)'))).toBe(true);
    // No line carries the secret.
    expect(receiver.lines.join('\n')).not.toContain(EMULATOR_WEBHOOK_SECRET.slice(6));
  });

  it('a replayed delivery (same webhook-id) is answered 200 without a second lookup or signal', async () => {
    const body = eventBody(batchId);
    const headers = signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body);
    const before = { ...receiver.calls };
    const first = await post(body, headers);
    expect([first.status, first.body.outcome]).toEqual([200, 'signalled']);
    const replay = await post(body, headers);
    expect([replay.status, replay.body.outcome]).toEqual([200, 'duplicate']);
    expect(receiver.calls.openai - before.openai).toBe(1);
    expect(receiver.calls.temporalSignals - before.temporalSignals).toBe(1);
    expect(receiver.lines.some((l) => /duplicate webhook-id=\S+ ignored \(1 so far\)/.test(l))).toBe(true);
    // The hint is confirmed by a poll: the batch is still running, so the chunk keeps waiting.
    await until('the chunk took the hint', async () => (await batchEndedSignals()) === 1);
    const status = await env.conn.client.workflow.getHandle(`${jobId}/r1/c0`).describe();
    expect(status.status.name).toBe('RUNNING');
  });

  it('an event for a batch no job owns, or OpenAI does not know, is acknowledged and logged', async () => {
    // A batch of the project that no job made (no job/round/chunk metadata).
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    const file = await openai.files.create({
      file: await toFile(
        Buffer.from(readFileSync(fileURLToPath(await writeChatInput(env, 1, { file: 'x.jsonl' })))),
        'x.jsonl',
      ),
      purpose: 'batch',
    });
    const foreign = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    for (const id of ['batch_nobody_knows_this_one', foreign.id]) {
      const body = eventBody(id);
      const answer = await post(body, signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body));
      expect([answer.status, answer.body.outcome]).toEqual([200, 'unowned']);
    }
    expect(receiver.lines.some((l) => l.includes('batch_nobody_knows_this_one: OpenAI knows no such batch'))).toBe(
      true,
    );
  });
});
