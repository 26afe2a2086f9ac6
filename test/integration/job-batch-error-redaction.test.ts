// A batch's `errors[].message` is OpenAI's text, and OpenAI quotes what it was given: a key pasted
// into the wrong field (here the model, as a user might) comes back inside the message. The
// message reaches the chunk's history (the batch snapshot) and every row of results.jsonl: a
// key-shaped string there must be redacted like in mapped errors.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

/** A key-shaped model name: OpenAI's token-limit message quotes the model. */
const KEY_AS_MODEL = 'sk-proj-a1b2c3d4e5f6a7b8';

const KEY_SHAPE = /\bsk-[\w*.-]{3,}/;

/** The text around the first match of `re` in `text` (for the failure message), or undefined. */
function around(text: string, re: RegExp): string | undefined {
  const at = text.search(re);
  return at < 0 ? undefined : text.slice(Math.max(0, at - 150), at + 60);
}

/**
 * Every `message` string in a history: in its events and inside its payloads (decoded from the
 * base64 of historyToJSON and parsed). The chunk's input names its model by design, so the check
 * is on messages, the way OpenAI's text gets in.
 */
function messagesIn(json: string): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key?: string): void => {
    if (typeof value === 'string') {
      if (key === 'message') found.push(value);
      if (key === 'data') {
        try {
          walk(JSON.parse(Buffer.from(value, 'base64').toString('utf8')));
        } catch {
          // Not a JSON payload.
        }
      }
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(JSON.parse(json));
  return found;
}

describe('key-shaped strings in a batch error message', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // No batch of this model fits the queue: every batch fails with token_limit_exceeded.
    env = await startJobEnv('batch-error-redaction', { enqueuedTokenLimit: { [KEY_AS_MODEL]: 1 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a key quoted in a failed batch's errors[].message reaches neither the chunk's history nor results.jsonl", async () => {
    const jobId = `batch-error-redaction-${Date.now()}`;
    const inputUri = await writeChatInput(env, 20, { file: 'batch-error-redaction.jsonl', model: KEY_AS_MODEL });
    const worker = await env.createWorker();
    const { summary, chunkMessages } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          maxRounds: 1,
          wait: { ...FAST_WAIT, tokenLimitBackoffMs: 200, maxTokenLimitRetries: 1 },
        },
        { taskQueue: env.taskQueue },
      );
      const summary = await handle.result();
      const chunkMessages: string[] = [];
      for await (const run of env.conn.client.workflow.list({ query: `WorkflowId = "${jobId}/r1/c0"` })) {
        const history = await env.conn.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
        chunkMessages.push(...messagesIn(historyToJSON(history)));
      }
      return { summary, chunkMessages };
    });
    // The trigger happened: OpenAI's message quotes the key-shaped model.
    const openai = new OpenAI({ baseURL: env.emulator.baseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0 });
    const batch = await openai.batches.retrieve(summary.batchIds[0] as string);
    expect(batch.errors?.data?.[0]?.message).toContain(KEY_AS_MODEL);
    expect(chunkMessages.length).toBeGreaterThan(0);
    // The chunk's history holds the snapshot with OpenAI's message, redacted.
    const limitMessages = chunkMessages.filter((m) => m.includes('Enqueued token limit reached for'));
    expect(limitMessages.length).toBeGreaterThan(0);
    expect(limitMessages.filter((m) => KEY_SHAPE.test(m))).toEqual([]);
    // Every row carries the message, redacted.
    const results = await readFile(fileURLToPath(summary.resultsUri), 'utf8');
    expect(results).toContain('token_limit_exceeded');
    expect(around(results, KEY_SHAPE)).toBeUndefined();
  });
});
