// Puts a chunk's report and a cancel of its job into one job workflow task, with real workers:
// chunk 0 ends and reports on a worker that runs chunk workflows only (every job workflow task
// fails there), the job is cancelled, and only then does a full worker take the job over.
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { chunkWorkflowId } from '../../common/job-options.ts';
import type { JobEnv } from './job-env.ts';
import { until } from './until.ts';

const chunkOnlyWorkflows = fileURLToPath(new URL('./chunk-only-workflows.ts', import.meta.url));

/** Drives a started (not yet running) job as above; returns its outcome (result or error). */
export async function cancelWithChunkReport(env: JobEnv, handle: WorkflowHandle, jobId: string): Promise<unknown> {
  const batchesOfJob = () => env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata[jobId] ?? 0;
  // A full worker until chunk 0's batch exists.
  await (
    await env.createWorker()
  ).runUntil(until('chunk 0 to create its batch', () => Promise.resolve(batchesOfJob() >= 1)));

  const chunk0 = env.conn.client.workflow.getHandle(chunkWorkflowId(jobId, 1, 0));
  const chunkOnly = await env.createWorker({}, { workflowsPath: chunkOnlyWorkflows });
  await chunkOnly.runUntil(async () => {
    await until('chunk 0 to complete', async () => (await chunk0.describe()).status.name === 'COMPLETED', 120_000);
    await handle.cancel();
  });

  return await (
    await env.createWorker()
  ).runUntil(
    handle.result().then(
      (v: unknown) => v,
      (err: unknown) => err,
    ),
  );
}
