import { WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch cancel <job-id> [--wait]

Requests cancellation of a job (the same as Cancel in the Temporal UI or \`temporal workflow cancel\`).
The job cancels each of its OpenAI batches, collects the rows already done (they are billed), writes
its report and ends as cancelled. Never terminate a job: termination runs no code, so its OpenAI
batches would keep running and billing.

Options:
  --wait      wait until the job has ended
`;

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('cancel', argv, { wait: { type: 'boolean' } });
  const jobId = positionals[0];
  if (!jobId) throw new UserError('cancel needs a job id', 'openai-batch cancel <job-id>');
  const conn = await connectFromEnvironment();
  try {
    const handle = conn.client.workflow.getHandle(jobId);
    try {
      await handle.cancel();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UserError(`no running job with id "${jobId}"`);
      throw err;
    }
    console.log(`cancellation requested for ${jobId}; its batches are being cancelled`);
    if (values.wait) {
      await handle.result().catch(() => undefined);
      console.log(`job ${jobId}: ${(await handle.describe()).status.name}`);
    }
  } finally {
    await conn.close();
  }
  return 0;
}

/** `openai-batch cancel <id>`. */
export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a job and its OpenAI batches, keeping done rows',
  usage,
  run,
};
