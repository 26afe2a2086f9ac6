import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The project's cache directory, outside any repository checkout, so that a Temporal binary built
 * once (a Go build takes minutes) is reused by every clone, test run and CI run on the machine.
 */
export function cacheDir(): string {
  const explicit = process.env['OPENAI_BATCH_CACHE_DIR'];
  if (explicit) return explicit;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'temporal-openai-batch');
}
