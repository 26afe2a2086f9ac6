import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAST,
  chatLine,
  openEmulator,
  readJsonl,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';
import { validateSchema, SPEC_2025_06 } from './support/openapi-validator.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator({ ...FAST, rowsPerSecond: 20, cancellingSeconds: 0.3 });
});
afterAll(async () => fx?.close());

type Line = {
  id: string;
  custom_id: string;
  response: { status_code: number } | null;
  error: { code: string; message: string } | null;
};

async function startBatch(rows: number) {
  const ids = Array.from({ length: rows }, (_, i) => `row-${i}`);
  const file = await uploadBatchFile(
    fx.client,
    await fx.writeJsonl(
      `e-${Math.random()}.jsonl`,
      ids.map((id) => chatLine(id)),
    ),
  );
  const batch = await fx.client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return { batch, ids };
}

describe('expiry and cancellation keep processed rows', () => {
  it('a batch whose window passes ends expired: processed rows in the output file, the rest batch_expired in the error file', async () => {
    fx.emulator.setConfig({ completionWindowSeconds: 1 });
    const { batch, ids } = await startBatch(60);
    expect(batch.expires_at).toBe(batch.created_at + 1);
    const expired = await waitForStatus(fx.client, batch.id, ['expired', 'completed']);
    fx.emulator.setConfig({ completionWindowSeconds: 86_400 });
    expect(expired.status).toBe('expired');
    expect(validateSchema('Batch', expired)).toEqual([]);
    expect(expired.expired_at).toBeTypeOf('number');
    expect(expired.completed_at).toBeNull();
    const counts = expired.request_counts!;
    expect(counts.total).toBe(60);
    expect(counts.completed).toBeGreaterThan(0);
    expect(counts.completed).toBeLessThan(60);

    const output = await readJsonl<Line>(fx.client, expired.output_file_id!);
    const errors = await readJsonl<Line>(fx.client, expired.error_file_id!);
    expect(output).toHaveLength(counts.completed);
    expect(errors).toHaveLength(60 - counts.completed);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    for (const line of errors) {
      expect(line).toEqual({
        id: expect.stringMatching(/^batch_req_/) as string,
        custom_id: line.custom_id,
        response: null,
        error: {
          code: 'batch_expired',
          message: 'This request could not be executed before the completion window expired.',
        },
      });
      expect(validateSchema('BatchRequestOutput', line, { spec: SPEC_2025_06 })).toEqual([]);
    }
    expect(expired.usage!.input_tokens).toBeGreaterThan(0);
  });

  it('cancel moves to cancelling then cancelled; processed rows stay in the output, the rest are batch_cancelled', async () => {
    const { batch, ids } = await startBatch(200);
    let running = await waitForStatus(fx.client, batch.id, ['in_progress']);
    while (running.request_counts!.completed < 3) running = await fx.client.batches.retrieve(batch.id);
    const cancelling = await fx.client.batches.cancel(batch.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).toBeTypeOf('number');
    expect(cancelling.cancelled_at).toBeNull();
    expect(validateSchema('Batch', cancelling)).toEqual([]);
    // Cancelling twice is harmless.
    expect((await fx.client.batches.cancel(batch.id)).status).toMatch(/^cancell/);

    const cancelled = await waitForStatus(fx.client, batch.id, ['cancelled']);
    expect(cancelled.cancelled_at).toBeGreaterThanOrEqual(cancelled.cancelling_at!);
    const counts = cancelled.request_counts!;
    expect(counts.completed).toBeGreaterThanOrEqual(3);
    expect(counts.completed).toBeLessThan(200);
    const output = await readJsonl<Line>(fx.client, cancelled.output_file_id!);
    const errors = await readJsonl<Line>(fx.client, cancelled.error_file_id!);
    expect(output.every((l) => l.response?.status_code === 200 && l.error === null)).toBe(true);
    expect(output).toHaveLength(counts.completed);
    expect(errors.every((l) => l.response === null && l.error?.code === 'batch_cancelled')).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  });

  it('a batch cancelled while validating ends cancelled with every row batch_cancelled', async () => {
    fx.emulator.setConfig({ validatingSeconds: 5 });
    const { batch } = await startBatch(3);
    fx.emulator.setConfig({ validatingSeconds: 0 });
    await fx.client.batches.cancel(batch.id);
    const cancelled = await waitForStatus(fx.client, batch.id, ['cancelled']);
    expect(cancelled.in_progress_at).toBeNull();
    expect(cancelled.output_file_id).toBeNull();
    const errors = await readJsonl<Line>(fx.client, cancelled.error_file_id!);
    expect(errors.map((l) => l.error?.code)).toEqual(['batch_cancelled', 'batch_cancelled', 'batch_cancelled']);
  });

  it('a batch can be held in validating and in finalizing for a configured time', async () => {
    fx.emulator.setConfig({ validatingSeconds: 1, finalizingSeconds: 1, rowsPerSecond: 'instant' });
    const { batch } = await startBatch(2);
    await new Promise((r) => setTimeout(r, 600));
    expect((await fx.client.batches.retrieve(batch.id)).status).toBe('validating');
    const finalizing = await waitForStatus(fx.client, batch.id, ['finalizing']);
    expect(finalizing.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const done = await waitForStatus(fx.client, batch.id, ['completed']);
    expect(done.completed_at! - done.finalizing_at!).toBeGreaterThanOrEqual(0);
    expect(Date.now() / 1000 - batch.created_at).toBeGreaterThanOrEqual(1.5);
    fx.emulator.setConfig({ validatingSeconds: 0, finalizingSeconds: 0, rowsPerSecond: 20 });
  });
});
