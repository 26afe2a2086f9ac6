import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** The task queue when none is configured. */
export const DEFAULT_TASK_QUEUE = 'openai-batch';

/**
 * Every environment variable the worker reads. docker-compose.yml and the README list the same
 * names; a test checks that they agree.
 */
export const WORKER_ENV_VARS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  'OPENAI_BATCH_TASK_QUEUE',
  'OPENAI_BATCH_STORAGE_ROOT',
  'OPENAI_BATCH_S3_ENDPOINT',
  'OPENAI_BATCH_S3_PATH_STYLE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_BATCH_PG_URL',
  'OPENAI_BATCH_METRICS_ADDRESS',
  'OPENAI_BATCH_TEST_CRASH_AT',
] as const;

/** A worker's configuration, resolved from the environment and Temporal's config file. */
export interface WorkerConfig {
  readonly connection: NativeConnectionOptions;
  readonly namespace: string;
  readonly taskQueue: string;
  /** Storage root for job files. */
  readonly storageRoot: string;
  /** OpenAI base URL, or undefined for OpenAI's. The API key is read by the plugin, never copied here. */
  readonly openaiBaseUrl?: string | undefined;
  /** `host:port` of the Prometheus endpoint (`/metrics`), or undefined for none. */
  readonly metricsAddress?: string | undefined;
  /** Test-only crash point (`during-upload`, `during-poll`, `after-create`); unset in production. */
  readonly testCrashAt?: string | undefined;
}

/**
 * Reads the Temporal connection through `@temporalio/envconfig` (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS settings, profiles) and the project's own variables.
 */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    overrideEnvVars: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
    ),
  });
  return {
    connection: connectionOptions,
    namespace: namespace ?? 'default',
    taskQueue: env['OPENAI_BATCH_TASK_QUEUE'] || DEFAULT_TASK_QUEUE,
    storageRoot: env['OPENAI_BATCH_STORAGE_ROOT'] || './.openai-batch',
    openaiBaseUrl: env['OPENAI_BASE_URL'] || undefined,
    metricsAddress: env['OPENAI_BATCH_METRICS_ADDRESS'] || undefined,
    testCrashAt: env['OPENAI_BATCH_TEST_CRASH_AT'] || undefined,
  };
}
