// Finalize keeps no index of every custom_id: it assumes round 0's rows are unique and checks
// their fingerprints at the end. These rows break that assumption (the same custom_id in two
// chunks' records), so the merge must notice, write it again, and still give each id one row.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalizeJob } from '../../src/reconcile/index.ts';
import { recordLine, type RowRecord } from '../../src/reconcile/row-record.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';

function record(id: string, chunk: number, status: RowRecord['status'], round = 0): string {
  return recordLine({
    custom_id: id,
    status,
    round,
    chunk,
    batch_id: `batch_${round}_${chunk}`,
    retryable: false,
    request_id: null,
    error: status === 'succeeded' ? null : { code: 'server_error', message: 'boom' },
    usage: { input: 1, cachedInput: 0, output: 1, reasoning: 0 },
    response: status === 'succeeded' ? { chunk } : null,
  });
}

describe('finalize with a custom_id in two chunks', () => {
  let dir: string;
  let storage: BlobStorage;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
  afterEach(() => cleanup());

  async function finalize(chunkRecords: string[][]) {
    const chunks = [];
    for (const [index, recs] of chunkRecords.entries()) {
      const recordsUri = await writeInput(dir, `records-${index}.jsonl`, recs.join('\n') + '\n');
      chunks.push({ index, recordsUri, batchId: `batch_0_${index}` });
    }
    const report = await finalizeJob(
      { jobId: 'job', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions', rounds: [{ round: 0, chunks }] },
      storage,
    );
    const results = lines(await readUri(report.resultsUri)).map(
      (l) => JSON.parse(l) as { custom_id: string; status: string; response: unknown },
    );
    const failures = lines(await readUri(report.failuresUri)).map((l) => JSON.parse(l) as { custom_id: string });
    return { report, results, failures };
  }

  it('writes the id once (its first record), counts the duplicate, and keeps every other row', async () => {
    const many = Array.from({ length: 5_000 }, (_, n) => record(`row-${n}`, 0, 'succeeded'));
    const { report, results, failures } = await finalize([
      [...many, record('twice', 0, 'succeeded')],
      [record('twice', 1, 'failed'), record('other', 1, 'failed')],
    ]);
    expect(results.map((r) => r.custom_id)).toEqual([...many.map((_, n) => `row-${n}`), 'twice', 'other']);
    expect(results.find((r) => r.custom_id === 'twice')).toMatchObject({ status: 'succeeded', response: { chunk: 0 } });
    expect(failures.map((f) => f.custom_id)).toEqual(['other']);
    expect(report.anomalies).toEqual({ duplicates: 1 });
    expect(report.rows).toBe(5_002);
    expect(report.counts).toMatchObject({ succeeded: 5_001, failed: 1 });
    // Usage counts every record read, the duplicate's too (it was billed), but only once per pass.
    expect(report.usage).toEqual({ input: 5_003, cachedInput: 0, output: 5_003, reasoning: 0 });
  });

  it('without repeats, writes each record once and reports no duplicates', async () => {
    const { report, results } = await finalize([
      [record('a', 0, 'succeeded'), record('b', 0, 'succeeded')],
      [record('c', 1, 'failed')],
    ]);
    expect(results.map((r) => r.custom_id)).toEqual(['a', 'b', 'c']);
    expect(report.anomalies).toEqual({ duplicates: 0 });
    expect(report.rows).toBe(3);
  });
});
