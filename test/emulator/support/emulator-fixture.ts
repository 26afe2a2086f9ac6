import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import { startEmulator, type EmulatorConfigPatch, type RunningEmulator } from '../../../src/tools/emulator/index.ts';

/** Settings that make batches finish in well under a second, for tests that only need the end. */
export const FAST: EmulatorConfigPatch = {
  rowsPerSecond: 'instant',
  validatingSeconds: 0,
  finalizingSeconds: 0,
  cancellingSeconds: 0,
};

export interface EmulatorFixture {
  emulator: RunningEmulator;
  client: OpenAI;
  stateDir: string;
  /** Writes a JSONL file in the fixture's scratch dir and returns its path. */
  writeJsonl(name: string, lines: readonly unknown[]): Promise<string>;
  close(): Promise<void>;
}

/** A real emulator on a free port with a fresh state dir, and an SDK client that never retries. */
export async function openEmulator(config: EmulatorConfigPatch = FAST, stateDir?: string): Promise<EmulatorFixture> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'emulator-test-')));
  const scratch = await mkdtemp(join(tmpdir(), 'emulator-input-'));
  const emulator = await startEmulator({ port: 0, stateDir: dir, config });
  return {
    emulator,
    client: sdkClient(emulator.baseURL),
    stateDir: dir,
    writeJsonl: async (name, lines) => {
      const path = join(scratch, name);
      await writeFile(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
      return path;
    },
    close: async () => {
      await emulator.stop();
      await rm(scratch, { recursive: true, force: true });
      if (!stateDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sdkClient(baseURL: string): OpenAI {
  return new OpenAI({ baseURL, apiKey: 'sk-emulator-test', maxRetries: 0 });
}

/** A chat request line as a pipeline would write it. */
export function chatLine(
  customId: string,
  text = `Classify review ${customId}`,
  model = 'gpt-4o-mini',
  extra: Record<string, unknown> = {},
) {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: text }], ...extra },
  };
}

/** Uploads a JSONL file from a file stream (the SDK streams it) with purpose `batch`. */
export async function uploadBatchFile(client: OpenAI, path: string) {
  return client.files.create({ file: createReadStream(path), purpose: 'batch' });
}

/** Polls `batches.retrieve` until the batch reaches one of `statuses`. */
export async function waitForStatus(
  client: OpenAI,
  id: string,
  statuses: readonly Batch['status'][],
  timeoutMs = 20_000,
): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} is still ${batch.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a file's content through `files.content` as a stream, one parsed JSON line at a time. */
export async function readJsonl<T = Record<string, unknown>>(client: OpenAI, fileId: string): Promise<T[]> {
  const response = await client.files.content(fileId);
  if (!response.body) throw new Error('files.content returned no body');
  const lines = createInterface({ input: Readable.fromWeb(response.body), crlfDelay: Infinity });
  const out: T[] = [];
  for await (const line of lines) if (line.trim() !== '') out.push(JSON.parse(line) as T);
  return out;
}
