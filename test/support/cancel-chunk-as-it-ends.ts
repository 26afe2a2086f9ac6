// Puts a chunk's collect completion and a cancel of that chunk into one chunk workflow task, with
// real workers: the collect (slowed by the emulator's download latency) completes on a worker that
// runs job workflows only (every chunk workflow task fails there), the chunk is cancelled, and only
// then does a full worker take the chunk over.
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { chunkWorkflowId } from '../../common/job-options.ts';
import type { JobEnv } from './job-env.ts';
import { until } from './until.ts';

const jobOnlyWorkflows = fileURLToPath(new URL('./job-only-workflows.ts', import.meta.url));

/** Drives a started (not yet running) one-chunk job as above; returns the job's outcome. */
export async function cancelChunkAsItEnds(env: JobEnv, handle: WorkflowHandle, jobId: string): Promise<unknown> {
  const chunk = env.conn.client.workflow.getHandle(chunkWorkflowId(jobId, 1, 0));
  const collectCompleted = async (): Promise<boolean> => {
    const events = (await chunk.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectChunk');
    const id = String(scheduled?.eventId ?? '');
    return id !== '' && events.some((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === id);
  };
  // A full worker until the chunk's collect is downloading the output.
  await (
    await env.createWorker()
  ).runUntil(
    until('the collect to download the output', () =>
      Promise.resolve((env.emulator.stats().callsPerRoute['files.content'] ?? 0) > 0),
    ),
  );
  // The collect completes on a worker that cannot run the chunk; the chunk is then cancelled.
  await (
    await env.createWorker({}, { workflowsPath: jobOnlyWorkflows })
  ).runUntil(async () => {
    await until('the collect to complete', collectCompleted, 120_000, 500);
    await chunk.cancel();
  });
  // The chunk's next task holds the collect's completion and the cancel request together.
  return await (
    await env.createWorker()
  ).runUntil(
    handle.result().then(
      (v: unknown) => v,
      (err: unknown) => err,
    ),
  );
}
