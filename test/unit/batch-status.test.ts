import type OpenAI from 'openai';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type BatchStatus, isTerminalStatus } from '../../common/batch-status.ts';

describe('BatchStatus', () => {
  it("is exactly openai-node's Batch['status'] union (a status OpenAI adds fails the type check)", () => {
    expectTypeOf<BatchStatus>().toEqualTypeOf<OpenAI.Batches.Batch['status']>();
  });

  it('terminal statuses are the four a batch never leaves', () => {
    const all: BatchStatus[] = [
      'validating',
      'failed',
      'in_progress',
      'finalizing',
      'completed',
      'expired',
      'cancelling',
      'cancelled',
    ];
    expect(all.filter(isTerminalStatus)).toEqual(['failed', 'completed', 'expired', 'cancelled']);
  });
});
