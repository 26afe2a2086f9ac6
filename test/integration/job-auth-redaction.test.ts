// OpenAI's 401 quotes the key it refused ("Incorrect API key provided: sk-proj-****abcd"): that
// text must reach no workflow history and no result file.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

/** Anything shaped like an OpenAI key, whole or masked. */
const KEY_SHAPE = /\bsk-[\w*.-]{3,}/;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('a 401 that quotes the API key', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // Every create is refused as when the key is revoked mid-job; the upload before it succeeds.
    env = await startJobEnv('auth-redaction', { faults: { 'batches.create': { unauthorized: 1 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('the masked key in OpenAI 401 message reaches no history, failure or result file', async () => {
    const inputUri = await writeChatInput(env, 50, { file: 'auth-redaction.jsonl' });
    const jobId = `auth-redaction-${Date.now()}`;
    const worker = await env.createWorker();
    const { err, histories } = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, endpoint: '/v1/chat/completions', inputUri, wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const histories: string[] = [];
      for (const id of [jobId, `${jobId}/r1/c0`]) {
        const history = await env.conn.client.workflow.getHandle(id).fetchHistory();
        histories.push(
          JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)),
        );
      }
      return { err, histories };
    });
    // The refusal did happen, and says what to fix.
    expect(env.emulator.stats().faultsInjected['batches.create']?.['unauthorized'] ?? 0).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('OpenAIBatch.Auth');
    expect(failure.message).toContain('Incorrect API key provided');
    expect(failure.message).not.toMatch(KEY_SHAPE);
    for (const history of histories) {
      expect(history).toContain('Incorrect API key provided');
      expect(history.match(KEY_SHAPE)?.[0]).toBeUndefined();
    }
    const files = await filesUnder(join(env.dir, 'storage'));
    expect(files.some((f) => f.endsWith('failures.jsonl'))).toBe(true);
    for (const file of files) {
      if (file.includes(`${join('storage', 'inputs')}`)) continue;
      expect((await readFile(file, 'utf8')).match(KEY_SHAPE)?.[0], file).toBeUndefined();
    }
  });
});
