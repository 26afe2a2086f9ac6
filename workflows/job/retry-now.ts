// The retryFailedRows handshake. Only the main loop plans rounds, so the update handler asks it and
// waits: `request()` is what the handler calls, `answer()` what the main loop calls when it wakes.
// One request at a time: 'requested' by the handler, 'planning' in the main loop, 'answered' until
// the handler takes the outcome and sets 'idle' again.
import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { RetryNowResult } from '../../common/job-types.ts';
import type { JobRun } from './job-run.ts';
import { chunkCount, hasPendingRetries, utcMinute } from './job-state.ts';
import { startNextRound } from './next-round.ts';
import { updateRejected } from '../../common/failures.ts';

export class RetryNow {
  #step: 'idle' | 'requested' | 'planning' | 'answered' = 'idle';
  #outcome: RetryNowResult | ApplicationFailure | undefined;

  /** A request waits for the main loop (wake it). */
  get requested(): boolean {
    return this.#step === 'requested';
  }

  /** A request is under way (a second one is refused). */
  get busy(): boolean {
    return this.#step !== 'idle';
  }

  /** The update handler: asks the main loop to start a round and returns what it answered. */
  async request(): Promise<RetryNowResult> {
    this.#step = 'requested';
    try {
      await condition(() => this.#step === 'answered');
    } catch (err) {
      // The job was cancelled before the main loop answered: say so, not just "Workflow cancelled".
      if (!isCancellation(err)) throw err;
      this.#outcome = undefined;
      this.#step = 'idle';
      throw rejection(JOB_CANCELLED);
    }
    const outcome = this.#outcome;
    this.#outcome = undefined;
    this.#step = 'idle';
    if (outcome === undefined || outcome instanceof ApplicationFailure) throw outcome ?? rejection('no outcome');
    return outcome;
  }

  /** The main loop: answers a waiting request, if any: with `started`, or by starting a round now. */
  async answer(run: JobRun, started?: RetryNowResult): Promise<void> {
    if (this.#step !== 'requested') return;
    this.#step = 'planning';
    let outcome: RetryNowResult | ApplicationFailure | undefined = started;
    if (!outcome) {
      const why = whyNoRetryNow(run, false);
      try {
        outcome =
          (why ? undefined : await startNextRound(run)) ??
          rejection(why ?? 'the retryable rows were already resubmitted');
      } catch (err) {
        // Cancelled while planning: the request is answered (the handler's own wait ends with the
        // same refusal), and the cancel goes on to the cancel branch.
        this.#outcome = rejection(
          isCancellation(err) ? JOB_CANCELLED : `planning the retry round failed: ${String(err)}`,
        );
        this.#step = 'answered';
        throw err;
      }
    }
    this.#outcome = outcome;
    this.#step = 'answered';
  }
}

/** Why a retry round cannot start now, or undefined when it can (`busy`: count a request under way). */
export function whyNoRetryNow(run: JobRun, busy = true): string | undefined {
  const { state } = run;
  const { maxActive, maxRounds, deadline } = run.job;
  if (state.phase !== 'running') return `the job is ${state.phase}; retry rounds start only while it runs`;
  // The cancel branch publishes 'running' while it waits for its chunks: no round starts then.
  if (CancellationScope.current().consideredCancelled) return JOB_CANCELLED;
  if (busy && run.job.retryNow.busy) return 'a retry round is already being started';
  if (run.closing) return CLOSING;
  if (state.fatal) return `the job stopped submitting: ${state.fatal.message}`;
  if (deadline.passed()) return `the deadline (${utcMinute(deadline.ms ?? 0)}) passed; the job is finishing`;
  const waiting = chunkCount(state) - state.nextChunk;
  if (waiting > 0) {
    // Those chunks belong to the current round; a new round now would leave them unsubmitted.
    // With free slots they are being started (a job with its chunk list in storage reads it first).
    if (run.activeIds.length < maxActive) return chunksStartingReason(state.round, waiting);
    return chunksWaitingReason(state.round, waiting, maxActive);
  }
  if (state.round >= maxRounds) return lastRoundReason(state.round, maxRounds);
  if (!hasPendingRetries(state)) {
    const running = run.activeIds.length;
    return noRetryableRowsReason(running);
  }
  return undefined;
}

function chunksWaitingReason(round: number, waiting: number, maxActive: number): string {
  return (
    `round ${round} still has ${waiting} chunk(s) waiting for a free slot (maxActiveBatches ${maxActive}); ` +
    'ask again once they are submitted'
  );
}

function chunksStartingReason(round: number, starting: number): string {
  return `round ${round} is still starting ${starting} chunk(s); ask again in a few seconds`;
}

function lastRoundReason(round: number, maxRounds: number): string {
  return (
    `round ${round} is the last that maxRounds (${maxRounds}) allows; ` +
    'start the job with a higher maxRounds to retry more'
  );
}

function noRetryableRowsReason(running: number): string {
  return (
    `no finished chunk has retryable rows yet (${running} chunk${running === 1 ? '' : 's'} still running); ` +
    'retryable rows are resubmitted when the round ends'
  );
}

/** Why an update is refused while the run continues as new (one accepted then could be cut off). */
export const CLOSING = 'the job is continuing as new; ask again in a few seconds';

/** Why retryFailedRows is refused once the job is cancelled. */
const JOB_CANCELLED = 'the job was cancelled; it records what was done and ends';

/** Why retryFailedRows is refused before planning has finished. */
export const STILL_PLANNING = 'the job is still planning; nothing has run yet';

function rejection(why: string): ApplicationFailure {
  return updateRejected('retryFailedRows', why);
}
