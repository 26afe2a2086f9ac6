// Deletes the input of a job's first chunk once its batch is created (the upload is done), so that
// every later read of the chunk fails: what a lifecycle rule or a stray `rm` does to a running job.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobEnv } from './job-env.ts';
import { until } from './until.ts';

export async function deleteChunkInputOnceCreated(env: JobEnv, jobId: string): Promise<void> {
  await until("the job's first batch created", () =>
    Promise.resolve((env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0) >= 1),
  );
  // The chunk is a slice of the plan's snapshot (or, without one, a file of its own).
  const round = join(fileURLToPath(env.storageRoot), jobId, 'r1');
  await rm(join(round, 'input-a1.jsonl'), { force: true });
  await rm(join(round, 'c0'), { recursive: true, force: true });
}
