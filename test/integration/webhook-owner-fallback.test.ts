// The receiver finds a batch's chunk through the job's `OpenAIBatchIds` search attribute when the
// batch's metadata does not name the job. Such a batch is made here as a create whose answer was
// lost would leave it, but by someone else: it carries the chunk's idempotency key, round and
// chunk and no job_id, and the chunk's own create (held until it exists) adopts it.
import type { Client } from '@temporalio/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_IDS } from '../../common/search-attributes.ts';
import { startBatchJob } from '../../src/client/job-client.ts';
import { ActivityGate, gatedWorker } from '../support/activity-gate.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { until } from '../support/until.ts';
import { deliverBatchEvent, startTestReceiver, type TestReceiver } from '../support/webhook-receiver.ts';

describe('the owner of a batch whose metadata lacks the job', () => {
  let env: JobEnv;
  let receiver: TestReceiver;
  let jobId: string;
  beforeAll(async () => {
    // One row a minute: the batch runs for the whole test.
    env = await startJobEnv('webhook-owner-fallback', { rowsPerSecond: 1 / 60 });
    receiver = await startTestReceiver(env.conn.client, env.emulator.baseURL);
  });
  afterAll(async () => {
    await env?.conn.client.workflow
      .getHandle(`wf-${jobId}`)
      .terminate('test over')
      .catch(() => undefined);
    await receiver?.close();
    await env?.close();
  });

  it('is found from the OpenAIBatchIds search attribute, and its chunk signalled', async () => {
    jobId = `wh-fallback-${Date.now()}`;
    const input = await writeChatInput(env, 20, { file: `${jobId}.jsonl` });
    const gate = new ActivityGate('createBatch');
    const worker = await gatedWorker(env, gate);
    await worker.runUntil(async () => {
      await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri: input,
          endpoint: '/v1/chat/completions',
          wait: { ...FAST_WAIT, minPollMs: 600_000, maxPollMs: 600_000, progressRefreshMs: 3_600_000 },
        },
        // A workflow id of its own: the chunks are named by the job id, not by it.
        { taskQueue: env.taskQueue, workflowId: `wf-${jobId}` },
      );
      const [create] = (await gate.entered) as [{ inputFileId: string; idempotencyKey: string; round: number }];
      const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
      const foreign = await openai.batches.create({
        input_file_id: create.inputFileId,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { idempotency_key: create.idempotencyKey, round: '1', chunk: '0' },
      });
      gate.release();
      const client: Client = env.conn.client;
      await until(
        'the job lists the adopted batch in OpenAIBatchIds',
        async () => {
          for await (const job of client.workflow.list({ query: `${BATCH_IDS.name} = '${foreign.id}'` }))
            if (job.workflowId === `wf-${jobId}`) return true;
          return false;
        },
        60_000,
        200,
      );
      expect(env.emulator.inventory().batches).toHaveLength(1);

      expect(await deliverBatchEvent(receiver.url, foreign.id)).toBe('signalled');
      expect(receiver.lines.some((l) => l.includes(`for ${foreign.id}: signalled ${jobId}/r1/c0`))).toBe(true);
      await until('the chunk has the hint', async () => {
        const events = (await client.workflow.getHandle(`${jobId}/r1/c0`).fetchHistory()).events ?? [];
        return events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'batchEnded');
      });
    });
  });
});
