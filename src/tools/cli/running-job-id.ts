import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { UserError } from './user-error.ts';

/**
 * Refuses a job id that a running job has, before the CLI copies the input into that job's folder:
 * the start would fail after a copy that can take minutes. (The copy could not harm the running
 * job: each copy has a name of its own.) A job that has ended may have its id reused, as Temporal
 * allows.
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
      `job ${jobId} is running: a job id names one job at a time`,
      'pick another --job-id, or wait for that job to end (openai-batch watch ' + jobId + ')',
    );
}
