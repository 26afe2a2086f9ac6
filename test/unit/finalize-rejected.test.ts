import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planJob } from '../../src/plan/index.ts';
import { finalizeJob, reconcileChunk } from '../../src/reconcile/index.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';
import { okLine } from './reconcile-fixtures.ts';

interface ResultLine {
  custom_id: string;
  status: string;
  attempts: number;
  batch_ids: string[];
  round: number;
  error: { code: string; message: string; line?: number; reasons?: { reason: string }[] } | null;
}

describe('finalize lists rejected input lines', () => {
  let dir: string;
  let storage: BlobStorage;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
  afterEach(() => cleanup());

  /** Plans with onInvalid 'skip', lets every planned request succeed, reconciles and finalizes. */
  async function runJob(input: (string | Buffer)[]) {
    const uri = await writeInput(
      dir,
      'in.jsonl',
      Buffer.concat(input.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')]))),
    );
    const manifest = await planJob(
      { jobId: 'job', inputUri: uri, endpoint: '/v1/chat/completions', onInvalid: 'skip' },
      storage,
    );
    const chunks = [];
    for (const chunk of manifest.chunks) {
      const ids = lines(await readUri(chunk.uri)).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      const outputUri = await writeInput(
        dir,
        `out-${chunk.index}.jsonl`,
        ids.map((id) => okLine(id)).join('\n') + '\n',
      );
      const outcome = await reconcileChunk(
        {
          jobId: 'job',
          round: 0,
          chunkIndex: chunk.index,
          chunkUri: chunk.uri,
          batchId: `batch_${chunk.index}`,
          batchStatus: 'completed',
          outputUri,
          endpoint: '/v1/chat/completions',
        },
        storage,
      );
      chunks.push({ index: chunk.index, recordsUri: outcome.recordsUri, batchId: `batch_${chunk.index}` });
    }
    const report = await finalizeJob(
      {
        jobId: 'job',
        model: manifest.model,
        endpoint: '/v1/chat/completions',
        rounds: [{ round: 0, chunks }],
        rejected: manifest.rejected,
      },
      storage,
    );
    const results = lines(await readUri(report.resultsUri)).map((l) => JSON.parse(l) as ResultLine);
    const failures = lines(await readUri(report.failuresUri)).map((l) => JSON.parse(l) as ResultLine);
    const json = JSON.parse(await readUri(report.reportUri)) as {
      rows: number;
      counts: Record<string, number>;
      rejected: Record<string, unknown>;
    };
    return { manifest, report, results, failures, json };
  }

  it('gives each rejected line with a custom_id of its own one rejected row, with its reasons and line number', async () => {
    const { report, results, failures, json, manifest } = await runJob([
      chatLine('a'), // 1: valid
      '{"custom_id":"b"}', // 2: invalid, its own id → rejected row
      'not json', // 3: no id
      chatLine('a'), // 4: duplicate of a valid request → only in rejected.jsonl
      chatLine('c', 'hi', 'gpt-4o'), // 5: model mismatch → rejected row
      '{"custom_id":"c","method":"GET"}', // 6: c already has a rejected row → only in rejected.jsonl
      '{"custom_id":"d","method":"GET"}', // 7: invalid, but line 8 makes d a valid request → only in rejected.jsonl
      chatLine('d'), // 8: valid
      '{"custom_id":""}', // 9: empty id → no id
      '[1,2]', // 10: not an object → no id
      Buffer.from([0x7b, 0xff, 0x7d]), // 11: not UTF-8 → no id
    ]);
    expect(manifest.rejected.count).toBe(9);
    expect(results.map((r) => [r.custom_id, r.status])).toEqual([
      ['a', 'succeeded'],
      ['d', 'succeeded'],
      ['b', 'rejected'],
      ['c', 'rejected'],
    ]);
    const b = results.find((r) => r.custom_id === 'b');
    expect(b).toMatchObject({ attempts: 0, batch_ids: [], round: 0, error: { code: 'invalid_method', line: 2 } });
    expect(b?.error?.reasons?.map((r) => r.reason)).toEqual(['invalid_method', 'url_mismatch', 'invalid_body']);
    expect(b?.error?.message).toMatch(/^input line 2 was not submitted: method/);
    expect(results.find((r) => r.custom_id === 'c')?.error).toMatchObject({ code: 'model_mismatch', line: 5 });
    expect(failures.map((f) => [f.custom_id, f.status, f.error?.line])).toEqual([
      ['b', 'rejected', 2],
      ['c', 'rejected', 5],
    ]);
    expect(report.rows).toBe(4);
    expect(report.counts).toMatchObject({ succeeded: 2, rejected: 2 });
    expect(json.rows).toBe(4);
    expect(json.counts).toMatchObject({ succeeded: 2, rejected: 2 });
    expect(json.rejected).toEqual({ count: 9, uri: manifest.rejected.uri, inResults: 2, withoutId: 4, repeatedId: 3 });
  });

  it('reports no rejected rows for a clean input', async () => {
    const { report, results, json } = await runJob([chatLine('a'), chatLine('b')]);
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(report.counts.rejected).toBe(0);
    expect(json.rejected).toEqual({ count: 0, inResults: 0, withoutId: 0, repeatedId: 0 });
  });
});
