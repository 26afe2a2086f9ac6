import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planJob, type JobManifest } from '../../src/plan/index.ts';
import { finalizeJob, reconcileChunk, type ChunkOutcome } from '../../src/reconcile/index.ts';
import { readJsonl } from '../../src/jsonl/index.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { httpErrorLine, okLine } from './reconcile-fixtures.ts';
import { chatLine, readUri, tempStorage } from './plan-fixtures.ts';

const ROWS = 100_000;
let storage: BlobStorage;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ storage, cleanup } = await tempStorage()));
afterAll(() => cleanup());

/** Fate of a row in round 0 by its number: 2% rate-limited, 1% bad request, 1% missing, the rest fine. */
const fate0 = (n: number) => (n % 50 === 1 ? 'rate' : n % 100 === 2 ? 'bad' : n % 100 === 3 ? 'lost' : 'ok');
const idNumber = (id: string) => Number(id.slice(4));

async function* text(lines: Iterable<string>): AsyncGenerator<string> {
  for (const l of lines) yield await Promise.resolve(l + '\n');
}

async function simulateAndReconcile(manifest: JobManifest, fate: (n: number) => string): Promise<ChunkOutcome[]> {
  const outcomes: ChunkOutcome[] = [];
  for (const chunk of manifest.chunks) {
    const out: string[] = [];
    const err: string[] = [];
    for await (const item of readJsonl(await storage.openRead(chunk.uri))) {
      if (item.kind !== 'line') continue;
      const id = (JSON.parse(item.text) as { custom_id: string }).custom_id;
      const f = fate(idNumber(id));
      if (f === 'ok') out.push(okLine(id));
      else if (f === 'rate') err.push(httpErrorLine(id, 429, 'rate_limit_exceeded', 'requests'));
      else if (f === 'bad') err.push(httpErrorLine(id, 400, 'invalid_value'));
    }
    const dir = `r${manifest.round}/c${chunk.index}`;
    const outputUri = (await storage.writeAtomic(storage.jobUri('job', dir, 'output.jsonl'), text(out.reverse()))).uri;
    const errorUri = (await storage.writeAtomic(storage.jobUri('job', dir, 'errors.jsonl'), text(err))).uri;
    outcomes.push(
      await reconcileChunk(
        {
          jobId: 'job',
          round: manifest.round,
          chunkIndex: chunk.index,
          chunkUri: chunk.uri,
          batchId: `batch_${manifest.round}_${chunk.index}`,
          batchStatus: 'completed',
          outputUri,
          errorUri,
          endpoint: '/v1/chat/completions',
        },
        storage,
      ),
    );
  }
  return outcomes;
}

describe('a 100,000-row job round trip', () => {
  it('plans, reconciles two rounds and merges each custom_id exactly once, the latest round winning', async () => {
    const input = storage.jobUri('job', 'input.jsonl');
    await storage.writeAtomic(
      input,
      text(Array.from({ length: ROWS }, (_, n) => chatLine(`row-${n}`, `review number ${n}`))),
    );
    const round0 = await planJob(
      { jobId: 'job', inputUri: input, endpoint: '/v1/chat/completions', limits: { maxRequests: 30_000 } },
      storage,
    );
    expect(round0.chunks.map((c) => c.requests)).toEqual([30_000, 30_000, 30_000, 10_000]);
    const outcomes0 = await simulateAndReconcile(round0, fate0);
    const retryable0 = outcomes0.reduce((n, o) => n + o.retryCount, 0);
    expect(retryable0).toBe(2_000 + 1_000);

    // Round 1 resubmits the retry lines; half of the rate-limited rows fail again, terminally.
    const retryInput = storage.jobUri('job', 'r1-input.jsonl');
    async function* merged(): AsyncGenerator<Buffer> {
      for (const o of outcomes0) if (o.retryUri) for await (const b of await storage.openRead(o.retryUri)) yield b;
    }
    await storage.writeAtomic(retryInput, merged());
    const round1 = await planJob(
      { jobId: 'job', inputUri: retryInput, endpoint: '/v1/chat/completions', round: 1 },
      storage,
    );
    expect(round1.totalRequests).toBe(3_000);
    const outcomes1 = await simulateAndReconcile(round1, (n) => (n % 100 === 1 ? 'bad' : 'ok'));

    const report = await finalizeJob(
      {
        jobId: 'job',
        model: 'gpt-4o-mini',
        endpoint: '/v1/chat/completions',
        rounds: [round0, round1].map((m, r) => ({
          round: m.round,
          chunks: m.chunks.map((c, i) => ({
            index: c.index,
            recordsUri: ((r === 0 ? outcomes0 : outcomes1)[i] as ChunkOutcome).recordsUri,
            batchId: `batch_${m.round}_${c.index}`,
          })),
        })),
      },
      storage,
    );

    expect(report.rows).toBe(ROWS);
    const seen = new Set<string>();
    const statuses: Record<string, number> = {};
    let twoAttempts = 0;
    for await (const item of readJsonl(await storage.openRead(report.resultsUri))) {
      if (item.kind !== 'line') continue;
      const r = JSON.parse(item.text) as {
        custom_id: string;
        status: string;
        attempts: number;
        batch_ids: string[];
        round: number;
      };
      expect(seen.has(r.custom_id)).toBe(false);
      seen.add(r.custom_id);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const n = idNumber(r.custom_id);
      const retried = fate0(n) === 'rate' || fate0(n) === 'lost';
      expect(r.attempts).toBe(retried ? 2 : 1);
      if (retried) {
        twoAttempts++;
        expect(r.round).toBe(1);
        expect(r.batch_ids[0]).toMatch(/^batch_0_/);
        expect(r.batch_ids[1]).toMatch(/^batch_1_/);
      }
    }
    expect(seen.size).toBe(ROWS);
    expect(twoAttempts).toBe(3_000);
    // 1,000 bad in round 0; of the 3,000 retried, ids ≡ 1 (mod 100) (1,000 of them) fail again.
    expect(statuses).toEqual({ succeeded: ROWS - 2_000, failed: 2_000 });
    expect(report.counts).toMatchObject({ succeeded: ROWS - 2_000, failed: 2_000, missing: 0 });
    expect(report.anomalies).toEqual({ duplicates: 0 });
    // Every succeeded attempt is billed: 96,000 (round 0) + 2,000 (round 1) responses at 10 in / 5 out tokens.
    expect(report.usage).toEqual({ input: 980_000, cachedInput: 0, output: 490_000, reasoning: 0 });
    expect(report.costUsd).toBeCloseTo((980_000 * 0.15 + 490_000 * 0.6) / 1e6 / 2, 9);
    expect(report.syncCostUsd).toBeCloseTo(report.costUsd * 2, 9);
    const failures = (await readUri(report.failuresUri)).split('\n').filter(Boolean);
    expect(failures).toHaveLength(2_000);
    const json = JSON.parse(await readUri(report.reportUri)) as { rows: number; rounds: unknown[] };
    expect(json.rows).toBe(ROWS);
    expect(json.rounds).toHaveLength(2);
  });
});
