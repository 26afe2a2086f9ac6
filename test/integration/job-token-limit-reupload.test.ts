// A chunk that waits out `token_limit_exceeded` past its input file's TTL uploads the file again
// before it resubmits: a batch created on an expired file fails, and every row with it (patch
// reupload-expired-input, deciding by the expiry OpenAI gave at the upload). The emulator's
// `fileTtlScale` makes the hour-long TTL pass in 6 s, the backoff lasts longer than that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { planJob } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

const TTL_SECONDS = 3_600;
const FILE_TTL_SCALE = 6 / TTL_SECONDS;

describe('a resubmission after token_limit_exceeded past the input file TTL', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('tokens-reupload', { rowsPerSecond: 150, fileTtlScale: FILE_TTL_SCALE });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('uploads the chunk again, and every row succeeds', async () => {
    const jobId = `tokens-reupload-${Date.now()}`;
    const inputUri = await writeChatInput(env, 600, { file: `${jobId}.jsonl` });
    const estimate = await planJob(
      { jobId: `estimate-${jobId}`, inputUri, endpoint: '/v1/chat/completions', limits: { maxRequests: 300 } },
      openStorage(env.storageRoot),
    );
    const perChunk = estimate.chunks[0]?.estimatedInputTokens ?? 0;
    // Room for one chunk in the queue, not two: one of them backs off and resubmits.
    env.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': Math.round(perChunk * 1.5) } });
    const worker = await env.createWorker();
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        {
          jobId,
          inputUri,
          endpoint: '/v1/chat/completions',
          limits: { maxRequests: 300 },
          maxActiveBatches: 2,
          openaiFileTtlSeconds: TTL_SECONDS,
          // 8 s ± 20%: always past the 6 s the emulator keeps the file.
          wait: { ...FAST_WAIT, tokenLimitBackoffMs: 8_000 },
        },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids, statuses } = tally(rows);
    expect(ids.size).toBe(600);
    expect(statuses).toEqual({ succeeded: 600 });
    expect(summary.status).toBe('completed');
    // Each resubmitted attempt read a file of its own, not the first attempt's (expired) one.
    const batches = env.emulator.inventory().batches.filter((b) => b.metadata?.['job_id'] === jobId);
    const byChunk = new Map<string, { attempt: number; file: string; status: string }[]>();
    for (const b of batches) {
      const key = b.metadata?.['idempotency_key'] ?? '';
      const chunk = key.replace(/:a\d+$/, '');
      const attempt = Number(/:a(\d+)$/.exec(key)?.[1]);
      byChunk.set(chunk, [...(byChunk.get(chunk) ?? []), { attempt, file: b.input_file_id, status: b.status }]);
    }
    const resubmitted = [...byChunk.values()].filter((attempts) => attempts.length > 1);
    expect(resubmitted.length).toBeGreaterThanOrEqual(1);
    for (const attempts of resubmitted) {
      expect(new Set(attempts.map((a) => a.file)).size, JSON.stringify(attempts)).toBe(attempts.length);
      expect(attempts.find((a) => a.attempt === 1)?.status).toBe('failed');
    }
    expect(env.emulator.stats().filesUploaded).toBe(2 + resubmitted.reduce((n, a) => n + a.length - 1, 0));
  });
});
