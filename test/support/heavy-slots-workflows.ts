// A workflow that runs the probe activity of test/integration/heavy-slots.test.ts: one holds the
// worker's only heavy slot, a second waits for it (and is cancelled, when asked), a third runs
// after the first. No retries and a 1 s heartbeat timeout: a waiter that stopped heartbeating
// would fail the workflow.
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';

export interface ProbeActivities {
  heavyProbe(input: { name: string; ms: number }): Promise<{ attempt: number }>;
}

const { heavyProbe } = proxyActivities<ProbeActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '1 second',
  retry: { maximumAttempts: 1 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export interface ProbeResult {
  readonly waiter: 'completed' | 'cancelled';
  readonly waiterAttempt?: number;
  /** Workflow time from the waiter's cancel to its end. */
  readonly cancelToEndMs?: number;
  readonly afterAttempt: number;
}

export async function heavySlotsProbe(input: { holdMs: number; cancelAfterMs?: number }): Promise<ProbeResult> {
  const holder = heavyProbe({ name: 'holder', ms: input.holdMs });
  await sleep(500); // the holder takes the slot first
  const scope = new CancellationScope();
  const waiter = scope.run(() => heavyProbe({ name: 'waiter', ms: 100 }));
  let result: Omit<ProbeResult, 'afterAttempt'>;
  if (input.cancelAfterMs === undefined) {
    result = { waiter: 'completed', waiterAttempt: (await waiter).attempt };
  } else {
    await sleep(input.cancelAfterMs);
    const cancelledAt = Date.now();
    scope.cancel();
    try {
      result = { waiter: 'completed', waiterAttempt: (await waiter).attempt };
    } catch (err) {
      if (!isCancellation(err)) throw err;
      result = { waiter: 'cancelled', cancelToEndMs: Date.now() - cancelledAt };
    }
  }
  await holder;
  const after = await heavyProbe({ name: 'after', ms: 100 });
  return { ...result, afterAttempt: after.attempt };
}
