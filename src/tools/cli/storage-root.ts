import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileStorage, openStorage, storageProblem } from '../../storage/index.ts';
import { UserError } from './user-error.ts';

/**
 * The storage root the CLI shares with its workers: `--storage-root`, else OPENAI_BATCH_STORAGE_ROOT,
 * else ./.openai-batch, as a URI. A `file://` root must be the same directory the workers see.
 */
export function storageRootFrom(flag: string | undefined): string {
  const root = flag || process.env['OPENAI_BATCH_STORAGE_ROOT'] || './.openai-batch';
  return root.includes('://') ? root : pathToFileURL(resolve(root)).href;
}

/**
 * Copies a local input file into the job's folder and returns its URI. The job reads this snapshot:
 * editing or deleting the original while the job runs changes nothing, and a retried planning step
 * reads the same bytes.
 */
export async function snapshotInput(inputPath: string, storageRoot: string, jobId: string): Promise<string> {
  try {
    const storage = openStorage(storageRoot);
    const uri = storage.jobUri(jobId, 'input.jsonl');
    // A local root copies by the kernel: a 1 GB stream copy would leave its buffers in this
    // process, which is the worker's in `run`.
    if (storage instanceof FileStorage) await storage.copyFileAtomic(uri, inputPath);
    else await storage.writeAtomic(uri, createReadStream(inputPath));
    return uri;
  } catch (err) {
    // A bad root, bucket, credentials or endpoint: one line, not a stack trace.
    const problem = storageProblem(err);
    throw problem ? new UserError(problem) : err;
  }
}
