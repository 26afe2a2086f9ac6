import { Runtime, type Logger, type RuntimeOptions, type TelemetryOptions } from '@temporalio/worker';
import { METRIC_LIST } from '../../common/metric-names.ts';

/** The environment variable that turns the worker's Prometheus endpoint on (`host:port`). */
export const METRICS_ADDRESS_ENV = 'OPENAI_BATCH_METRICS_ADDRESS';

/** The bucket boundaries of the project's histograms, for the SDK's exporters. */
export function metricBuckets(): Record<string, number[]> {
  return Object.fromEntries(METRIC_LIST.flatMap((m) => (m.buckets ? [[m.name, [...m.buckets]]] : [])));
}

/**
 * The SDK telemetry that serves the SDK's worker metrics and the project's on one Prometheus
 * scrape at `http://<bindAddress>/metrics`.
 */
export function prometheusTelemetry(bindAddress: string): TelemetryOptions {
  if (!/^[^\s:]*:\d{1,5}$/.test(bindAddress))
    throw new Error(
      `${METRICS_ADDRESS_ENV} / metricsAddress "${bindAddress}" is not host:port; use e.g. 0.0.0.0:9464 or 127.0.0.1:9464`,
    );
  return { metrics: { prometheus: { bindAddress, histogramBucketOverrides: metricBuckets() } } };
}

/** Options of {@link installWorkerRuntime}. */
export interface WorkerRuntimeOptions {
  /** Serve Prometheus metrics at this `host:port`. @default process.env.OPENAI_BATCH_METRICS_ADDRESS, else off */
  readonly metricsAddress?: string | undefined;
  /** The SDK's logger. @default the SDK's (INFO) */
  readonly logger?: Logger | undefined;
  /** Signals that shut the process's workers down. @default the SDK's (SIGINT, SIGTERM, SIGQUIT, SIGUSR2) */
  readonly shutdownSignals?: NodeJS.Signals[] | undefined;
}

/** The Prometheus address the process's runtime serves, if it was installed with one. */
export function installedMetricsAddress(): string | undefined {
  const metrics = Runtime._instance?.options.runtimeOptions.metricsExporter;
  return metrics?.type === 'prometheus' ? metrics.socketAddr : undefined;
}

/**
 * Installs the SDK's runtime (process-global) with the project's telemetry: call it once, before
 * the first connection, as `Runtime.install` must be. Without a metrics address nothing is
 * exported. A runtime already installed is kept when it serves the address asked for (or none is
 * asked); otherwise this throws, naming the fix, rather than silently exporting nothing.
 */
export function installWorkerRuntime(options: WorkerRuntimeOptions = {}): void {
  const metricsAddress = options.metricsAddress ?? (process.env[METRICS_ADDRESS_ENV] || undefined);
  if (Runtime._instance) {
    if (metricsAddress === undefined || installedMetricsAddress() === metricsAddress) return;
    throw new Error(
      `metrics at ${metricsAddress} need the Temporal runtime installed with them, but it is already running ` +
        `(a connection was made first, or Runtime.install was called without them): call installWorkerRuntime ` +
        `(or construct OpenAIBatchPlugin with metricsAddress) before NativeConnection.connect`,
    );
  }
  const runtimeOptions: RuntimeOptions = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    ...(metricsAddress ? { telemetryOptions: prometheusTelemetry(metricsAddress) } : {}),
  };
  Runtime.install(runtimeOptions);
}
