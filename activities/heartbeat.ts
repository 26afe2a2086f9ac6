import { Context } from '@temporalio/activity';

/**
 * Runs `work` while heartbeating every `everyMs`, so that a long step (planning, reconciling) is
 * noticed dead within the heartbeat timeout and cancellation reaches it.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, details?: () => unknown, everyMs = 1_000): Promise<T> {
  const context = Context.current();
  context.heartbeat(details?.());
  const timer = setInterval(() => context.heartbeat(details?.()), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Passes a byte stream through, heartbeating the bytes seen so far; stops on cancellation. */
export async function* heartbeatingBytes(
  source: AsyncIterable<Uint8Array | string>,
  label: string,
): AsyncGenerator<Uint8Array | string> {
  const context = Context.current();
  let bytes = 0;
  for await (const part of source) {
    if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
    bytes += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
    context.heartbeat({ [label]: bytes });
    yield part;
  }
}
