// How the job's reconcile step records rows of a cancelled or recovered chunk.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileChunk, type RowRecord } from '../../src/reconcile/index.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';
import { okLine } from './reconcile-fixtures.ts';

let dir: string;
let storage: BlobStorage;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
afterEach(() => cleanup());

async function records(uri: string): Promise<RowRecord[]> {
  return lines(await readUri(uri)).map((l) => JSON.parse(l) as RowRecord);
}

describe('rows of a cancelled job and of a recovered chunk', () => {
  it('a chunk the job was cancelled before submitting: every row is cancelled / not_submitted, not retried', async () => {
    const chunkUri = await writeInput(dir, 'chunk.jsonl', ['a', 'b'].map((id) => chatLine(id)).join('\n') + '\n');
    const outcome = await reconcileChunk(
      {
        jobId: 'job',
        round: 1,
        chunkIndex: 0,
        chunkUri,
        batchId: null,
        batchStatus: 'cancelled',
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    expect(outcome.counts).toMatchObject({ cancelled: 2, failed: 0 });
    expect(outcome.retryCount).toBe(0);
    for (const r of await records(outcome.recordsUri))
      expect(r).toMatchObject({ status: 'cancelled', retryable: false, error: { code: 'not_submitted' } });
  });

  it('a cancelled batch still says batch_cancelled for the rows it did not run', async () => {
    const chunkUri = await writeInput(dir, 'chunk.jsonl', ['a', 'b'].map((id) => chatLine(id)).join('\n') + '\n');
    const outputUri = await writeInput(dir, 'out.jsonl', okLine('a') + '\n');
    const outcome = await reconcileChunk(
      {
        jobId: 'job',
        round: 1,
        chunkIndex: 0,
        chunkUri,
        batchId: 'batch_1',
        batchStatus: 'cancelled',
        outputUri,
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    const byId = new Map((await records(outcome.recordsUri)).map((r) => [r.custom_id, r]));
    expect(byId.get('a')).toMatchObject({ status: 'succeeded' });
    expect(byId.get('b')).toMatchObject({ status: 'cancelled', error: { code: 'batch_cancelled' } });
  });

  it('a budget skip stays failed / not_submitted', async () => {
    const chunkUri = await writeInput(dir, 'chunk.jsonl', chatLine('a') + '\n');
    const outcome = await reconcileChunk(
      {
        jobId: 'job',
        round: 1,
        chunkIndex: 0,
        chunkUri,
        batchId: null,
        batchStatus: 'not_submitted',
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    expect(await records(outcome.recordsUri)).toMatchObject([{ status: 'failed', error: { code: 'not_submitted' } }]);
  });

  it("recovered records go to a file of their own and never replace the chunk's records", async () => {
    const chunkUri = await writeInput(dir, 'chunk.jsonl', chatLine('a') + '\n');
    const outputUri = await writeInput(dir, 'out.jsonl', okLine('a') + '\n');
    const own = await reconcileChunk(
      {
        jobId: 'job',
        round: 1,
        chunkIndex: 0,
        chunkUri,
        batchId: 'batch_1',
        batchStatus: 'completed',
        outputUri,
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    const recovered = await reconcileChunk(
      {
        jobId: 'job',
        round: 1,
        chunkIndex: 0,
        chunkUri,
        batchId: 'batch_1',
        batchStatus: 'failed',
        batchErrors: [{ code: 'chunk_ended', message: 'terminated' }],
        recovered: true,
        endpoint: '/v1/chat/completions',
      },
      storage,
    );
    expect(recovered.recordsUri).toBe(storage.jobUri('job', 'r1', 'c0', 'records-recovered.jsonl'));
    expect(own.recordsUri).toBe(storage.jobUri('job', 'r1', 'c0', 'records.jsonl'));
    expect(await records(own.recordsUri)).toMatchObject([{ status: 'succeeded' }]);
  });
});
