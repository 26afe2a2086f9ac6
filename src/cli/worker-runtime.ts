import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Installs the worker runtime quietly (OPENAI_BATCH_LOG_LEVEL overrides): the SDK's INFO lines
 * (worker state changes) would drown the CLI's progress display. Must run before the first connection.
 */
export function installQuietRuntime(defaultLevel: 'WARN' | 'ERROR' = 'WARN'): void {
  // A user's bad input fails an activity, which the SDK logs as a WARN with a stack trace; the
  // `run` command reports that failure itself in one line, so it asks for errors only.
  const wanted = process.env['OPENAI_BATCH_LOG_LEVEL']?.toUpperCase();
  const level = wanted === 'DEBUG' || wanted === 'INFO' || wanted === 'WARN' || wanted === 'ERROR' ? wanted : defaultLevel;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed in this process.
  }
}
