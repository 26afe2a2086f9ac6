// A job-test environment: the run's dev server, a fresh emulator and storage directory, and an
// in-process worker with the plugin pointed at them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { startEmulator } from '../../src/tools/emulator/index.ts';
import { OpenAIBatchPlugin, type OpenAIBatchPluginOptions } from '../../src/plugin.ts';
import { openStorage } from '../../src/storage/index.ts';
import type { WaitOptions } from '../../common/job-types.ts';
import { connectToDevServer, devServer, uniqueTaskQueue } from './temporal.ts';

/** Durations that make a job run in seconds against the emulator's fast settings. */
export const FAST_WAIT: Required<WaitOptions> = {
  minPollMs: 200,
  maxPollMs: 1_000,
  validatingPollMs: 100,
  progressRefreshMs: 5_000,
  tokenLimitBackoffMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  maxTokenLimitRetries: 36,
  webhooks: false,
  recoveryWaitMs: 3_600_000,
};

/**
 * Short windows for the exactly-once create, for tests whose emulator answers at once (no create
 * latency): a retry after an uncertain create waits 3 s instead of 30 s.
 */
export const FAST_CREATE_TIMING = { sendWindowMs: 1_000, requestTimeoutMs: 1_500, landingGraceMs: 500 } as const;

type EmulatorOptions = Parameters<typeof startEmulator>[0];

export interface JobEnv {
  readonly conn: Awaited<ReturnType<typeof connectToDevServer>>;
  readonly emulator: Awaited<ReturnType<typeof startEmulator>>;
  readonly dir: string;
  /** The storage root URI the worker uses. */
  readonly storageRoot: string;
  readonly taskQueue: string;
  /**
   * Creates (and bundles) an in-process worker with the plugin (`plugin`: options added to the
   * plugin's; `worker`: options added to the worker's, e.g. a `workflowsPath` of its own).
   */
  createWorker(plugin?: Partial<OpenAIBatchPluginOptions>, worker?: Partial<WorkerOptions>): Promise<Worker>;
  close(): Promise<void>;
}

export async function startJobEnv(name: string, config: EmulatorOptions['config'] = {}): Promise<JobEnv> {
  const dir = await mkdtemp(join(tmpdir(), `job-${name}-`));
  const emulator = await startEmulator({
    port: 0,
    stateDir: join(dir, 'emulator'),
    config: {
      rowsPerSecond: 'instant',
      validatingSeconds: 0.2,
      finalizingSeconds: 0.2,
      cancellingSeconds: 0.2,
      ...config,
    },
  });
  const conn = await connectToDevServer();
  const storageRoot = pathToFileURL(join(dir, 'storage')).href;
  const taskQueue = uniqueTaskQueue(name);
  return {
    conn,
    emulator,
    dir,
    storageRoot,
    taskQueue,
    async createWorker(plugin = {}, worker = {}) {
      return await Worker.create({
        ...worker,
        connection: conn.nativeConnection,
        namespace: devServer().namespace,
        taskQueue,
        plugins: [
          new OpenAIBatchPlugin({
            storageRoot,
            openaiBaseUrl: emulator.baseURL,
            openaiApiKey: 'sk-test-not-a-secret',
            ...plugin,
          }),
        ],
      });
    },
    async close() {
      await conn.close();
      await emulator.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `count` chat-completion request lines under the storage root; returns the file's URI. */
export async function writeChatInput(
  env: Pick<JobEnv, 'dir'>,
  count: number,
  options: { model?: string; file?: string; lines?: (i: number) => string | undefined } = {},
): Promise<string> {
  await mkdir(join(env.dir, 'storage', 'inputs'), { recursive: true });
  const path = join(env.dir, 'storage', 'inputs', options.file ?? `input-${count}.jsonl`);
  const model = options.model ?? 'gpt-4o-mini';
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      options.lines?.(i) ??
        JSON.stringify({
          custom_id: `req-${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: {
            model,
            messages: [{ role: 'user', content: `Classify review ${i}: good value, fast shipping.` }],
            max_tokens: 16,
          },
        }),
    );
  }
  await writeFile(path, parts.join('\n') + '\n');
  return pathToFileURL(path).href;
}

/** Every line of a JSONL file in storage, parsed. */
export async function readJsonlFile<T = Record<string, unknown>>(storageRoot: string, uri: string): Promise<T[]> {
  const storage = openStorage(storageRoot);
  const chunks: Buffer[] = [];
  for await (const part of await storage.openRead(uri)) chunks.push(part);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** Asserts-friendly tally of a results file: how many rows per custom_id and per status. */
export function tally(rows: readonly { custom_id: string; status: string }[]): {
  ids: Map<string, number>;
  statuses: Record<string, number>;
} {
  const ids = new Map<string, number>();
  const statuses: Record<string, number> = {};
  for (const row of rows) {
    ids.set(row.custom_id, (ids.get(row.custom_id) ?? 0) + 1);
    statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  }
  return { ids, statuses };
}
