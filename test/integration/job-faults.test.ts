import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import {
  FAST_CREATE_TIMING,
  FAST_WAIT,
  readJsonlFile,
  startJobEnv,
  tally,
  writeChatInput,
  type JobEnv,
} from '../support/job-env.ts';

describe('API faults', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // About 20% of calls on every route fail: 429 with retry-after, 500, 503, a dropped connection,
    // or a call carried out whose response is lost (a create the client never hears about).
    env = await startJobEnv('faults', {
      faults: {
        '*': {
          rateLimit: 0.05,
          retryAfterSeconds: 0.3,
          serverError: 0.04,
          serviceUnavailable: 0.01,
          dropConnection: 0.05,
          dropAfterHandling: 0.05,
        },
      },
      rowsPerSecond: 500,
      seed: 7,
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('429s with retry-after, 5xx and dropped connections on every route: the job completes with nothing lost and no duplicate batch', async () => {
    const jobId = `faults-${Date.now()}`;
    const inputUri = await writeChatInput(env, 1_500, { file: 'faults.jsonl' });
    // Short create windows: the emulator answers at once, so a retry after a lost create need not wait 30 s.
    const worker = await env.createWorker({ createBatchTiming: FAST_CREATE_TIMING });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 75 },
          maxActiveBatches: 10,
          wait: FAST_WAIT,
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    const stats = env.emulator.stats({ metadataKeys: ['job_id', 'round', 'chunk'] });
    console.log(
      'emulator calls and faults',
      JSON.stringify({ calls: stats.callsPerRoute, faults: stats.faultsInjected }),
    );
    expect(stats.faultsInjectedTotal).toBeGreaterThanOrEqual(15);
    const kinds = new Set(Object.values(stats.faultsInjected).flatMap((byKind) => Object.keys(byKind)));
    for (const kind of ['rateLimit', 'serverError', 'dropConnection', 'dropAfterHandling'])
      expect(kinds, `fault kind ${kind}`).toContain(kind);
    // Exactly one batch per chunk and round, and per idempotency key.
    const mine = Object.entries(stats.batchesByMetadata).filter(([k]) => k.startsWith(`${jobId}/`));
    expect(mine).toHaveLength(20);
    expect(mine.every(([, n]) => n === 1)).toBe(true);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(rows).toHaveLength(1_500);
    expect(ids.size).toBe(1_500);
    expect(statuses).toEqual({ succeeded: 1_500 });
  });
});
