import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorInventory, type RouteName } from '../../src/tools/emulator/index.ts';
import {
  chatLine,
  openEmulator,
  sdkClient,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';

describe('GET /_emulator/inventory', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    fx = await openEmulator({
      rowsPerSecond: 'instant',
      validatingSeconds: 0,
      finalizingSeconds: 0,
      cancellingSeconds: 0,
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('lists every batch with its status, files and metadata, and every live file by purpose, deleted files left out', async () => {
    const done = await uploadBatchFile(fx.client, await fx.writeJsonl('done.jsonl', [chatLine('a'), chatLine('b')]));
    const finished = await fx.client.batches.create({
      input_file_id: done.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { idempotency_key: 'k-1', job_id: 'j' },
    });
    const completed = await waitForStatus(fx.client, finished.id, ['completed']);
    // The second batch stays validating while the inventory is read.
    fx.emulator.setConfig({ validatingSeconds: 60 });
    const slow = await uploadBatchFile(fx.client, await fx.writeJsonl('slow.jsonl', [chatLine('c')]));
    const running = await fx.client.batches.create({
      input_file_id: slow.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const stray = await uploadBatchFile(fx.client, await fx.writeJsonl('stray.jsonl', [chatLine('d')]));
    const gone = await uploadBatchFile(fx.client, await fx.writeJsonl('gone.jsonl', [chatLine('e')]));
    await fx.client.files.delete(gone.id);

    const viaRoute = (await (
      await fetch(fx.emulator.baseURL.replace(/\/v1$/, '/_emulator/inventory'))
    ).json()) as EmulatorInventory;
    const inProcess = fx.emulator.inventory();
    for (const inv of [viaRoute, inProcess]) {
      expect(inv.batches).toEqual([
        {
          id: finished.id,
          status: 'completed',
          input_file_id: done.id,
          output_file_id: completed.output_file_id,
          error_file_id: null,
          metadata: { idempotency_key: 'k-1', job_id: 'j' },
          created_at: finished.created_at,
        },
        {
          id: running.id,
          status: 'validating',
          input_file_id: slow.id,
          output_file_id: null,
          error_file_id: null,
          metadata: null,
          created_at: running.created_at,
        },
      ]);
      expect(inv.files.map((f) => f.id)).toEqual([done.id, completed.output_file_id, slow.id, stray.id]);
      expect(inv.filesByPurpose).toEqual({ batch: 3, batch_output: 1 });
    }
  });
});

describe('the onCall observer', () => {
  it('hears every API call with its route and call number before the fault, and never the control routes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-oncall-'));
    const heard: [RouteName, number][] = [];
    const emulator = await startEmulator({
      stateDir: dir,
      config: { faults: { 'batches.list': { serverError: 1 } } },
      onCall: (route, n) => heard.push([route, n]),
    });
    try {
      const client = sdkClient(emulator.baseURL);
      await expect(client.batches.list()).rejects.toThrow();
      await expect(client.batches.list()).rejects.toThrow();
      await expect(client.files.retrieve('file-nope')).rejects.toThrow();
      await fetch(emulator.baseURL.replace(/\/v1$/, '/_emulator/stats'));
      expect(heard).toEqual([
        ['batches.list', 1],
        ['batches.list', 2],
        ['files.retrieve', 1],
      ]);
    } finally {
      await emulator.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
