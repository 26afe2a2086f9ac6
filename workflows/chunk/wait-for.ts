import { ActivityFailure, continueAsNew, log, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import type { ChunkRun } from './chunk-run.ts';
import type { openAIBatchChunk } from './chunk-workflow.ts';

/**
 * Polls batch `id` until it is terminal or the deadline passes, waking every refresh interval to
 * report progress, and continuing as new there when the history is long. `cancelling`: the
 * cancel path's wait (no deadline, no continue-as-new).
 */
export async function waitFor(run: ChunkRun, id: string, cancelling = false): Promise<BatchSnapshot> {
  const { input } = run;
  let nextPollAtMs: number | undefined;
  for (;;) {
    let snapshot: BatchSnapshot;
    try {
      snapshot = await run.activities.poll.waitForBatch({
        batchId: id,
        schedule: {
          minDelayMs: input.wait.minPollMs,
          maxDelayMs: input.wait.maxPollMs,
          fractionOfElapsed: 0.05,
          validatingDelayMs: input.wait.validatingPollMs,
        },
        refreshMs: input.wait.progressRefreshMs,
        deadlineMs: cancelling ? undefined : run.deadline,
        nextPollAtMs,
        // The wait returns early when a tenth of the rows are done since this count.
        reportedDone: run.progress.done,
      });
    } catch (err) {
      // The schedule-to-close bound passed (a worker was down): start a fresh wait.
      if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) continue;
      throw err;
    }
    if (snapshot.terminal || snapshot.deadlineReached) return snapshot;
    nextPollAtMs = snapshot.nextPollAtMs;
    await run.report(
      { phase: 'waiting', batchStatus: snapshot.status, done: snapshot.completed + snapshot.failed },
      true,
    );
    if (!cancelling) await continueAsNewIfLong(run, id);
  }
}

/** Continues as new (with the chunk's resume state) when Temporal suggests it or the history is long. */
export async function continueAsNewIfLong(run: ChunkRun, batchId: string | undefined): Promise<void> {
  const { input } = run;
  const resumeState = run.resume();
  const info = workflowInfo();
  const longHistory =
    input.continueAsNewAfterEvents !== undefined && info.historyLength >= input.continueAsNewAfterEvents;
  if (!(info.continueAsNewSuggested || longHistory) || !resumeState) return;
  log.info('chunk continuing as new', { historyLength: info.historyLength, batchId });
  await continueAsNew<typeof openAIBatchChunk>(
    run.deadline === input.deadlineMs ? input : { ...input, deadlineMs: run.deadline },
    resumeState,
  );
}
