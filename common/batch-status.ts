// The batch state machine as the workflows see it. Mirrors openai-node's `Batch['status']` (a test
// holds the two equal), so that a status OpenAI adds shows up as a type error here, not as a cast.

/** A batch's status, exactly OpenAI's `Batch['status']`. */
export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** The statuses a batch never leaves. */
export type TerminalBatchStatus = Extract<BatchStatus, 'completed' | 'failed' | 'expired' | 'cancelled'>;

const TERMINAL: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

/** Whether a batch in `status` has ended (its output and error files are final). */
export function isTerminalStatus(status: BatchStatus): status is TerminalBatchStatus {
  return TERMINAL.includes(status);
}
