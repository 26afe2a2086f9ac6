import { DefaultLogger } from '@temporalio/worker';
import { installWorkerRuntime } from '../../metrics/telemetry.ts';

/**
 * Installs the worker runtime quietly (OPENAI_BATCH_LOG_LEVEL overrides): the SDK's INFO lines
 * (worker state changes) would drown the CLI's progress display. Must run before the first connection.
 * With `ownSigint`, Ctrl-C is left to the command. OPENAI_BATCH_METRICS_ADDRESS turns metrics on.
 */
export function installQuietRuntime(
  defaultLevel: 'WARN' | 'ERROR' = 'WARN',
  options: { ownSigint?: boolean } = {},
): void {
  // A user's bad input fails an activity, which the SDK logs as a WARN with a stack trace; the
  // `run` command reports that failure itself in one line, so it asks for errors only.
  const wanted = process.env['OPENAI_BATCH_LOG_LEVEL']?.toUpperCase();
  const level =
    wanted === 'DEBUG' || wanted === 'INFO' || wanted === 'WARN' || wanted === 'ERROR' ? wanted : defaultLevel;
  // By default the SDK shuts every worker down on SIGINT; `run` asks the user first instead. With
  // OPENAI_BATCH_METRICS_ADDRESS the embedded worker serves Prometheus metrics too. A runtime
  // already installed in this process is kept.
  installWorkerRuntime({
    logger: new DefaultLogger(level),
    ...(options.ownSigint ? { shutdownSignals: ['SIGTERM', 'SIGQUIT'] as NodeJS.Signals[] } : {}),
  });
}
