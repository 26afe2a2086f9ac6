import { describe, expect, it } from 'vitest';
import { batchMoment, failedAmong } from '../../src/tools/emulator/lifecycle/batch-timeline.ts';
import type { BatchRecord } from '../../src/tools/emulator/state/records.ts';

const T0 = 1_700_000_000_000;

function record(overrides: Partial<BatchRecord> = {}): BatchRecord {
  return {
    id: 'batch_x',
    seq: 1,
    createdAtMs: T0,
    endpoint: '/v1/chat/completions',
    input_file_id: 'file-x',
    completion_window: '24h',
    metadata: null,
    output_expires_after: null,
    plan: {
      validatingMs: 1000,
      finalizingMs: 2000,
      cancellingMs: 500,
      windowMs: 86_400_000,
      rowsPerSecond: 10,
      rowErrors: {},
      seed: 1,
    },
    validation: { ok: true, doneAtMs: T0 + 200, total: 100, model: 'm', promptTokens: 1000, failedRows: [3, 50] },
    cancelRequestedAtMs: null,
    final: null,
    ...overrides,
  };
}

describe('batch timeline (a pure function of the record and the clock)', () => {
  it('walks validating -> in_progress -> finalizing -> completed at the planned instants', () => {
    const r = record();
    expect(batchMoment(r, T0 + 500).status).toBe('validating');
    const running = batchMoment(r, T0 + 1000 + 4_500);
    expect(running).toMatchObject({ status: 'in_progress', processed: 45 });
    expect(running.at.in_progress).toBe(T0 + 1000);
    expect(batchMoment(r, T0 + 11_000 + 1).status).toBe('finalizing');
    const done = batchMoment(r, T0 + 13_000);
    expect(done.status).toBe('completed');
    expect(done.terminal).toEqual({ status: 'completed', atMs: T0 + 13_000, processed: 100 });
  });

  it('stays validating until validation has really finished, however short validatingSeconds is', () => {
    const r = record({
      validation: { ok: true, doneAtMs: T0 + 5000, total: 1, model: 'm', promptTokens: 1, failedRows: [] },
    });
    expect(batchMoment(r, T0 + 4000).status).toBe('validating');
    expect(batchMoment(r, T0 + 5000).at.in_progress).toBe(T0 + 5000);
  });

  it('expires when the window ends first, counting only rows processed by then', () => {
    const r = record({ plan: { ...record().plan, windowMs: 5000 } });
    const m = batchMoment(r, T0 + 9000);
    expect(m.status).toBe('expired');
    expect(m.terminal).toEqual({ status: 'expired', atMs: T0 + 5000, processed: 40 });
    expect(m.at.finalizing).toBeNull();
  });

  it('cancelling freezes progress at the cancel instant, then becomes cancelled', () => {
    const r = record({ cancelRequestedAtMs: T0 + 3000 });
    expect(batchMoment(r, T0 + 3200)).toMatchObject({ status: 'cancelling', processed: 20 });
    expect(batchMoment(r, T0 + 60_000).terminal).toEqual({ status: 'cancelled', atMs: T0 + 3500, processed: 20 });
  });

  it('a failed validation fails the batch once the validating time is over', () => {
    const r = record({
      validation: {
        ok: false,
        doneAtMs: T0 + 10,
        errors: [{ code: 'empty_file', message: 'x', param: null, line: null }],
      },
    });
    expect(batchMoment(r, T0 + 500).status).toBe('validating');
    expect(batchMoment(r, T0 + 1000)).toMatchObject({ status: 'failed', at: { failed: T0 + 1000, in_progress: null } });
  });

  it('counts failed rows among the first n by binary search', () => {
    expect([0, 3, 4, 50, 51, 100].map((n) => failedAmong([3, 50], n))).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
