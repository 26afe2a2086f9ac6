import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { startBatchJob } from '../../../client/job-client.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { jobInputFromFlags, JOB_FLAGS, JOB_FLAGS_USAGE } from '../job-flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { refuseRunningJobId } from '../running-job-id.ts';
import { settleInputCopies, snapshotInput, storageRootFrom } from '../storage-root.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch submit <input.jsonl | storage-uri> [options]

Starts a job on the Temporal server of TEMPORAL_ADDRESS (workers with the plugin must poll its task
queue) and prints its id. A local file is first copied into the job's folder under the storage
root, which the workers must share (same directory, or later an s3:// bucket).

Options:
  --storage-root <uri|dir>  storage the workers use (default: $OPENAI_BATCH_STORAGE_ROOT or ./.openai-batch)
  --task-queue <q>          (default: $OPENAI_BATCH_TASK_QUEUE or openai-batch)
  -h, --help                show this help

${JOB_FLAGS_USAGE}`;

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('submit', argv, {
    ...JOB_FLAGS,
    'storage-root': { type: 'string' },
    'task-queue': { type: 'string' },
  });
  const source = positionals[0];
  if (!source || positionals.length > 1)
    throw new UserError('submit needs exactly one input', 'openai-batch submit <input.jsonl> [options]');
  const storageRoot = storageRootFrom(values['storage-root']);
  // Random too: two submits in one millisecond (a shell loop with `&`) would otherwise share an id.
  const jobId = values['job-id'] ?? `job-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const isLocalFile = !source.includes('://') && (await stat(source).catch(() => undefined))?.isFile();
  if (!source.includes('://') && !isLocalFile) throw new UserError(`input file not found: ${source}`);
  const input = await jobInputFromFlags({ ...values, 'job-id': jobId }, 'pending', isLocalFile ? source : undefined);
  const conn = await connectFromEnvironment();
  try {
    let inputUri = source;
    if (isLocalFile) {
      await refuseRunningJobId(conn.client, jobId);
      inputUri = await snapshotInput(source, storageRoot, jobId);
    }
    const handle = await startBatchJob(
      conn.client,
      { ...input, inputUri },
      {
        taskQueue: values['task-queue'] ?? conn.taskQueue,
        workflowId: jobId,
        ...(isLocalFile ? { inputName: source } : {}),
      },
    ).catch(async (err: unknown) => {
      if (isLocalFile) await settleInputCopies(storageRoot, jobId, inputUri, err);
      throw err;
    });
    if (isLocalFile) await settleInputCopies(storageRoot, jobId, inputUri);
    console.log(handle.workflowId);
  } finally {
    await conn.close();
  }
  return 0;
}

/** `openai-batch submit`: start a job on an existing Temporal server and print its id. */
export const submitCommand: Command = {
  name: 'submit',
  summary: 'start a job on an existing Temporal server; prints its id',
  usage,
  run,
};
