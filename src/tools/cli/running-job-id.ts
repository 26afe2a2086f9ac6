import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { UserError } from './user-error.ts';

/**
 * Refuses a job id that a running job has, before the CLI copies the input into that job's folder:
 * the running job reads its input file there (its chunks are slices of it), so the copy must never
 * replace it. A job that has ended may have its id reused, as Temporal allows.
 */
export async function refuseRunningJobId(client: Client, jobId: string): Promise<void> {
  const status = await client.workflow
    .getHandle(jobId)
    .describe()
    .then(
      (d) => d.status.name,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      },
    );
  if (status === 'RUNNING')
    throw new UserError(
      `job ${jobId} is running: its input must not change under it`,
      'pick another --job-id, or wait for that job to end (openai-batch watch ' + jobId + ')',
    );
}
