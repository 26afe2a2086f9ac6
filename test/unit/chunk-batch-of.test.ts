// Which batch a lost chunk's recovery collects when its key prefix matches several.
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chunkBatchOf } from '../../activities/create-batch.ts';

const batch = (id: string, attempt: number, status: string): OpenAI.Batches.Batch =>
  ({ id, status, metadata: { idempotency_key: `job:run:r1:c0:a${attempt}` } }) as unknown as OpenAI.Batches.Batch;

describe('chunkBatchOf', () => {
  it("takes the latest attempt's batch, not an earlier attempt's", () => {
    // Newest first, as batches.list returns them.
    const found = [batch('b3', 2, 'in_progress'), batch('b1', 1, 'failed')];
    expect(chunkBatchOf(found)?.id).toBe('b3');
  });

  it('of duplicates of one key, takes the oldest still running (the one createBatch keeps)', () => {
    const found = [batch('dup', 1, 'cancelling'), batch('kept', 1, 'in_progress')];
    // Both are non-terminal; the kept one is the older.
    expect(chunkBatchOf(found)?.id).toBe('kept');
  });

  it('with every batch ended, takes the newest of the latest attempt', () => {
    const found = [batch('b2', 2, 'completed'), batch('b1', 2, 'failed'), batch('b0', 1, 'completed')];
    expect(chunkBatchOf(found)?.id).toBe('b2');
  });

  it('finds nothing in nothing', () => {
    expect(chunkBatchOf([])).toBeUndefined();
  });
});
