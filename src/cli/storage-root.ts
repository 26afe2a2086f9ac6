import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The storage root the CLI shares with its workers: `--storage-root`, else OPENAI_BATCH_STORAGE_ROOT,
 * else ./.openai-batch, as a URI. A `file://` root must be the same directory the workers see.
 */
export function storageRootFrom(flag: string | undefined): string {
  const root = flag || process.env['OPENAI_BATCH_STORAGE_ROOT'] || './.openai-batch';
  return root.includes('://') ? root : pathToFileURL(resolve(root)).href;
}
