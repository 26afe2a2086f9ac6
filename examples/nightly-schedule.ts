import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { JOB_NAME, type JobInput } from '../workflows/index.ts';

/** Every night at 02:00 UTC, classify the reviews your pipeline exported to `inputUri`. */
export async function createNightlyReviewSchedule(client: Client, options: { inputUri: string; taskQueue: string }) {
  const input: JobInput = {
    name: 'nightly-reviews',
    inputUri: options.inputUri,
    endpoint: '/v1/chat/completions',
    maxRounds: 3,
  };
  return await client.schedule.create({
    scheduleId: 'nightly-reviews',
    spec: { cronExpressions: ['0 2 * * *'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'openAIBatchJob',
      workflowId: 'nightly-reviews', // each run gets "-<time>" appended, and uses it as its job id
      taskQueue: options.taskQueue,
      args: [input],
      typedSearchAttributes: [{ key: JOB_NAME, value: 'nightly-reviews' }],
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP, // still running from last night? skip tonight
      catchupWindow: '2h', // a worker outage shorter than this still runs the night's job
    },
  });
}
