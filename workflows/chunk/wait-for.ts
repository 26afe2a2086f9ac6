import {
  ActivityFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchSnapshot } from '../../activities/openai-batches.ts';
import { batchEndedSignal } from '../../common/messages.ts';
import { WAKE_QUICK_POLLS, waitSchedule } from '../../common/webhook-wait.ts';
import { WEBHOOK_WAKE_CONFIRMS, WEBHOOK_WAKES_WAIT } from '../patches.ts';
import type { ChunkRun } from './chunk-run.ts';
import { chunkLabels } from '../metrics.ts';
import type { openAIBatchChunk } from './chunk-workflow.ts';

/** Batch ids a webhook said ended (hints, never trusted as state) and the wake of the wait in progress. */
interface Hints {
  readonly ended: Set<string>;
  wake: ((batchId: string) => void) | undefined;
  /** The batch whose confirming wait (the one after a wake) is running: a hint for it wakes nothing. */
  confirming: string | undefined;
}

const hintsOf = new WeakMap<ChunkRun, Hints>();

/**
 * Listens for the webhook receiver's `batchEnded` signal: a hint for the batch being waited for
 * ends that wait at once (see {@link waitFor}); one for a batch not yet waited for makes its first
 * poll immediate. Polling stays the fallback, so a lost or early hint costs nothing but a poll.
 */
export function listenForBatchEnded(run: ChunkRun): void {
  const hints: Hints = { ended: new Set(), wake: undefined, confirming: undefined };
  hintsOf.set(run, hints);
  // Anyone can signal (an operator's `temporal workflow signal` with no input sends nothing): a
  // hint without a batch id is dropped, never unpacked, since a throw here fails every replay.
  setHandler(batchEndedSignal, (hint?: { batchId?: unknown; event?: unknown }) => {
    const batchId = hint?.batchId;
    const event = hint?.event;
    if (typeof batchId !== 'string' || !patched(WEBHOOK_WAKES_WAIT)) return;
    // A second delivery (a retry, another receiver) while the wake's polls run: nothing to add.
    if (hints.confirming === batchId) {
      log.info('webhook says the batch ended; its confirming polls are running', { batchId, event });
      return;
    }
    log.info('webhook says the batch ended', { batchId, event });
    hints.ended.add(batchId);
    hints.wake?.(batchId);
  });
}

/**
 * Polls batch `id` until it is terminal or the deadline passes, waking every refresh interval to
 * report progress, and continuing as new there when the history is long. A webhook's hint ends the
 * wait in progress; the next wait confirms: it polls at once, then up to {@link WAKE_QUICK_POLLS}
 * times `minPollMs` apart, and hands back to the schedule (patch webhook-wake-confirms; before it,
 * one immediate poll, woken again by each hint). `cancelling`: the cancel path's wait (no
 * deadline, no continue-as-new).
 */
export async function waitFor(run: ChunkRun, id: string, cancelling = false): Promise<BatchSnapshot> {
  const { input } = run;
  const hints = hintsOf.get(run);
  const { schedule, refreshMs } = waitSchedule(input.wait);
  let nextPollAtMs: number | undefined;
  let hinted = false;
  for (;;) {
    // A hint since the last poll: poll now instead of when the schedule says.
    if (hints?.ended.delete(id)) {
      nextPollAtMs = undefined;
      hinted = true;
    }
    const confirming = hinted && !cancelling && patched(WEBHOOK_WAKE_CONFIRMS);
    hinted = false;
    // With `wait.webhooks` the activity's bound follows the stretched refresh.
    const poll =
      input.wait.webhooks === true && patched(WEBHOOK_WAKE_CONFIRMS)
        ? run.activities.pollStretched
        : run.activities.poll;
    let woken = false;
    // The cancel path's wait runs in a non-cancellable scope, where a new child scope would inherit
    // a cancellation recorded before the SDK shielded such scopes: it is not woken by webhooks.
    const scope = cancelling ? undefined : new CancellationScope();
    if (hints && scope)
      hints.wake = (batchId) => {
        if (batchId !== id) return;
        hints.ended.delete(id);
        woken = true;
        scope.cancel();
      };
    if (hints && confirming) hints.confirming = id;
    let snapshot: BatchSnapshot;
    try {
      const wait = () =>
        poll.waitForBatch({
          batchId: id,
          schedule,
          refreshMs,
          deadlineMs: cancelling ? undefined : run.deadline,
          nextPollAtMs,
          // The wait returns early when a tenth of the rows are done since this count.
          reportedDone: run.progress.done,
          ...(confirming ? { quickPolls: WAKE_QUICK_POLLS } : {}),
          metricTags: chunkLabels(input),
        });
      snapshot = scope ? await scope.run(wait) : await wait();
    } catch (err) {
      // The schedule-to-close bound passed (a worker was down): start a fresh wait.
      if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) continue;
      // Woken by a webhook (and not cancelled itself): confirm with a poll now.
      if (woken && isCancellation(err) && !CancellationScope.current().consideredCancelled) {
        nextPollAtMs = undefined;
        hinted = true;
        continue;
      }
      throw err;
    } finally {
      if (hints) {
        hints.wake = undefined;
        hints.confirming = undefined;
      }
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
