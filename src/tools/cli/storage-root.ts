import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { isJobInputFile, jobInputFileUri } from '../../plan/job-input-file.ts';
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
 * reads the same bytes. Each copy has a name of its own (see job-input-file.ts): a second submit
 * with the same job id never writes the file a first one's job reads.
 */
export async function snapshotInput(inputPath: string, storageRoot: string, jobId: string): Promise<string> {
  try {
    const storage = openStorage(storageRoot);
    const uri = jobInputFileUri(storage, jobId, randomBytes(4).toString('hex'));
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

/**
 * After the start of job `jobId`: deletes its input copy when the start was refused because a job
 * with that id runs (no job reads the copy), or else the copies of earlier jobs with that id (they
 * have ended: a job id names one job at a time), so that reusing an id keeps one copy, as the one
 * `input.jsonl` of earlier releases did. Best effort. Any other start error keeps the copy: the
 * server may have started the job before the error reached us.
 */
export async function settleInputCopies(
  storageRoot: string,
  jobId: string,
  copy: string,
  startError?: unknown,
): Promise<void> {
  try {
    const storage = openStorage(storageRoot);
    if (startError !== undefined) {
      if (startError instanceof WorkflowExecutionAlreadyStartedError) await storage.delete(copy);
      return;
    }
    for (const uri of await storage.list(storage.jobUri(jobId, 'input')))
      if (uri !== copy && isJobInputFile(storage, jobId, uri)) await storage.delete(uri);
  } catch {
    // Left in place: a copy too many, never a job's input missing.
  }
}
