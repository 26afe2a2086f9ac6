import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_CONFIG,
  mergeConfig,
  type EmulatorConfig,
  type EmulatorConfigPatch,
  type RouteName,
} from './config.ts';
import { handleRequest } from './http/handle-request.ts';
import { BatchEngine } from './lifecycle/batch-engine.ts';
import { StateStore } from './state/state-store.ts';
import { collectStats, type EmulatorStats } from './stats.ts';
import { collectInventory, type EmulatorInventory } from './inventory.ts';
import { WebhookNotifier, type WebhookStats } from './webhooks/webhook-notifier.ts';

export interface EmulatorOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Directory that keeps files, batches and counters across restarts. */
  stateDir: string;
  /** Partial configuration merged over {@link DEFAULT_CONFIG}. @default {} */
  config?: EmulatorConfigPatch;
  /**
   * Called on each API call as it is counted, before auth, faults and handling, with the route and
   * its call number (1-based, across restarts). For tests that act at a moment of the client's
   * work, e.g. kill a worker in the middle of its `batches.create`. An exception is logged, not sent.
   */
  onCall?: (route: RouteName, callIndex: number) => void;
}

export interface RunningEmulator {
  /**
   * The base URL to hand to `new OpenAI({ baseURL, apiKey })`, e.g. `http://127.0.0.1:1234/v1`;
   * in Azure and Groq mode their v1 API, `http://127.0.0.1:1234/openai/v1`.
   */
  readonly baseURL: string;
  /** Scheme, host and port (`http://127.0.0.1:1234`), for the other paths of a provider (Azure's dated `/openai`). */
  readonly origin: string;
  readonly port: number;
  /** Counters, as `GET /_emulator/stats` returns them; `metadataKeys` fills `batchesByMetadata`. */
  stats(options?: { metadataKeys?: readonly string[] }): EmulatorStats;
  /** Every batch (status, files, metadata) and every live file, as `GET /_emulator/inventory` returns them. */
  inventory(): EmulatorInventory;
  /** The configuration in force. */
  config(): EmulatorConfig;
  /** Merges a partial configuration while running (as `POST /_emulator/config` does) and returns the result. */
  setConfig(patch: EmulatorConfigPatch): EmulatorConfig;
  /** The batch webhooks raised and their deliveries (see the `webhooks` config). */
  webhooks(): WebhookStats;
  /** Stops listening, waits for background work, and flushes counters. */
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 250;
const WEBHOOK_CHECK_MS = 50;

/** Starts the OpenAI Files + Batches emulator on `host:port` with its state under `stateDir`. */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  let config = mergeConfig(DEFAULT_CONFIG, options.config ?? {});
  const store = await StateStore.open(options.stateDir);
  const engine = new BatchEngine(store, () => config);
  engine.resume();
  const notifier = new WebhookNotifier(store, engine, () => config);
  const setConfig = (patch: unknown): EmulatorConfig => (config = mergeConfig(config, patch));
  const observer = options.onCall;
  const onCall = observer
    ? (route: RouteName, callIndex: number): void => {
        try {
          observer(route, callIndex);
        } catch (err) {
          console.error('[emulator] onCall observer failed', err);
        }
      }
    : undefined;
  const deps = { store, engine, config: () => config, setConfig, onCall };

  const server = createServer((req, res) => {
    void handleRequest(deps, req, res);
  });
  // Large uploads on a slow link must not be cut off by Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  // Progress is computed from timestamps on each read; this timer only writes result files for
  // batches nobody is polling, and flushes counters.
  const sweeper = setInterval(() => {
    engine.sweep();
    store.flushCounters().catch((err: unknown) => console.error('[emulator] writing counters failed', err));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  // Batch ends are noticed within this interval for the webhook events (and their timestamps).
  const webhookTimer = setInterval(() => notifier.check(), WEBHOOK_CHECK_MS);
  webhookTimer.unref();

  let stopping: Promise<void> | undefined;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${urlHost}:${port}`;
  return {
    get baseURL() {
      return (config.provider ?? 'openai') === 'openai' ? `${origin}/v1` : `${origin}/openai/v1`;
    },
    origin,
    port,
    stats: (opts) => collectStats(store, engine, opts?.metadataKeys ?? []),
    inventory: () => collectInventory(store, engine),
    config: () => config,
    setConfig,
    webhooks: () => notifier.stats(),
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(sweeper);
        clearInterval(webhookTimer);
        await notifier.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await engine.stop();
        await store.flushCounters();
      })()),
  };
}
