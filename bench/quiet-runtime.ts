import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * Keeps the worker's INFO lines out of a bench's figures, warnings and errors kept. `npm run bench`
 * runs every bench in one process and the SDK's runtime may be installed once per process (a
 * second `Runtime.install` throws IllegalStateError): the first bench to ask installs it.
 */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}
