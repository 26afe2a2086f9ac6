// Where the CLI copies a local input file: into the job's folder, under a name of its own per
// copy (`input-<tag>.jsonl`), so that two submits with one job id never write the same file, and
// a job's input has one writer. A job whose input is such a file plans from it as it is.
import type { BlobStorage } from '../storage/index.ts';

// The CLI's tag is 8 hex digits; `input.jsonl` is the copy of earlier releases.
const JOB_INPUT_NAME = /^input(-[0-9a-f]{8})?\.jsonl$/;

/** The URI of a new copy of a job's input (`tag`: unique per copy). */
export function jobInputFileUri(storage: BlobStorage, jobId: string, tag: string): string {
  return storage.jobUri(jobId, `input-${tag}.jsonl`);
}

/** Whether `uri` is a copy of job `jobId`'s input made for it (or the `input.jsonl` of earlier releases). */
export function isJobInputFile(storage: BlobStorage, jobId: string, uri: string): boolean {
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  return JOB_INPUT_NAME.test(name) && uri === storage.jobUri(jobId, name);
}
