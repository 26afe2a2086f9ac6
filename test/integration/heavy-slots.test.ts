// The worker's memory budget (activities/heavy-slots.ts), observed from real activity executions on
// the dev server: with one slot two heavy activities never overlap, a waiting activity keeps
// heartbeating (its 1 s heartbeat timeout never fires while it waits 4 s) and stops waiting as soon
// as it is cancelled, and every heavy step of a real job goes through the slots; with two slots
// (the default) two uploads share them and a plan, collect or finalize runs alone.
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeavySlots } from '../../activities/heavy-slots.ts';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';
import type { heavySlotsProbe } from '../support/heavy-slots-workflows.ts';

interface Span {
  readonly name: string;
  readonly enteredMs: number;
  exitedMs?: number;
  /** Activities waiting for a slot as this one left its slot. */
  waitingAtExit?: number;
}

/** HeavySlots that records when each activity's work enters and leaves its slot. */
class RecordingSlots extends HeavySlots {
  readonly spans: Span[] = [];
  maxWaiting = 0;

  override async run<T>(work: () => Promise<T>, slots?: number): Promise<T> {
    this.maxWaiting = Math.max(this.maxWaiting, this.waiting + (this.busy >= this.limit ? 1 : 0));
    return await super.run(async () => {
      const info = Context.current().info;
      const name = info.activityType === 'heavyProbe' ? '' : info.activityType;
      const span: Span = { name, enteredMs: Date.now() };
      this.spans.push(span);
      try {
        return await work();
      } finally {
        span.exitedMs = Date.now();
        span.waitingAtExit = this.waiting;
      }
    }, slots);
  }
}

/** True when spans `a` and `b` overlap in time. */
function overlap(a: Span, b: Span): boolean {
  return a.enteredMs < (b.exitedMs ?? Infinity) && b.enteredMs < (a.exitedMs ?? Infinity);
}

/** True when no two spans overlap in time. */
function disjoint(spans: readonly Span[]): boolean {
  const sorted = [...spans].sort((a, b) => a.enteredMs - b.enteredMs);
  return sorted.every((s, i) => i === 0 || s.enteredMs >= (sorted[i - 1]?.exitedMs ?? Infinity));
}

describe('heavy activity slots on the real dev server', () => {
  let env: JobEnv;
  beforeAll(async () => {
    env = await startJobEnv('heavy-slots');
  });
  afterAll(async () => {
    await env?.close();
  });

  async function probeWorker(slots: RecordingSlots): Promise<Worker> {
    return await Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: `${env.taskQueue}-probe`,
      workflowsPath: new URL('../support/heavy-slots-workflows.ts', import.meta.url).pathname,
      activities: {
        heavyProbe: slots.wrap(async (input: { name: string; ms: number }) => {
          const context = Context.current();
          (slots.spans.at(-1) as { name: string }).name = input.name;
          const end = Date.now() + input.ms;
          while (Date.now() < end) {
            context.heartbeat();
            await context.sleep(Math.min(200, end - Date.now()));
          }
          return { attempt: context.info.attempt };
        }),
      },
    });
  }

  it('with one slot a waiting activity heartbeats through a 4 s wait and runs after the holder, never beside it', async () => {
    const slots = new RecordingSlots(1);
    const worker = await probeWorker(slots);
    const result = await worker.runUntil(
      env.conn.client.workflow.execute<typeof heavySlotsProbe>('heavySlotsProbe', {
        taskQueue: `${env.taskQueue}-probe`,
        workflowId: `heavy-slots-wait-${Date.now()}`,
        args: [{ holdMs: 4_000 }],
      }),
    );
    // One attempt, no retries allowed: a heartbeat timeout while waiting would have failed it.
    expect(result).toMatchObject({ waiter: 'completed', waiterAttempt: 1, afterAttempt: 1 });
    const [holder, waiter, after] = ['holder', 'waiter', 'after'].map((n) => slots.spans.find((s) => s.name === n));
    expect(slots.spans.map((s) => s.name).sort()).toEqual(['after', 'holder', 'waiter']);
    expect(disjoint(slots.spans)).toBe(true);
    // The waiter waited the holder out (3.5 s of the 4 s hold, past its 1 s heartbeat timeout).
    expect((waiter?.enteredMs ?? 0) - (holder?.enteredMs ?? 0)).toBeGreaterThanOrEqual(3_500);
    expect(holder?.waitingAtExit).toBe(1);
    expect(after?.enteredMs).toBeGreaterThanOrEqual(waiter?.exitedMs ?? Infinity);
    expect(slots.busy).toBe(0);
  });

  it('a cancelled waiter stops waiting at once, never runs, and leaves the slot to the next activity', async () => {
    const slots = new RecordingSlots(1);
    const worker = await probeWorker(slots);
    const result = await worker.runUntil(
      env.conn.client.workflow.execute<typeof heavySlotsProbe>('heavySlotsProbe', {
        taskQueue: `${env.taskQueue}-probe`,
        workflowId: `heavy-slots-cancel-${Date.now()}`,
        args: [{ holdMs: 6_000, cancelAfterMs: 1_000 }],
      }),
    );
    expect(result.waiter).toBe('cancelled');
    // Well before the holder's end (5 s after the cancel): the wait itself was cancelled.
    expect(result.cancelToEndMs).toBeLessThan(3_000);
    expect(slots.spans.map((s) => s.name)).toEqual(['holder', 'after']);
    // The cancelled waiter had left the queue when the holder gave its slot back.
    expect(slots.spans[0]?.waitingAtExit).toBe(0);
    expect(result.afterAttempt).toBe(1);
    expect(slots.busy).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  /** A job of 60 rows in 6 chunks, all in flight, on a worker with `slots`, its routes slowed by `latencyMs`. */
  async function runSixChunkJob(
    slots: RecordingSlots,
    jobIdPrefix: string,
    latencyMs: Partial<Record<'files.create' | 'files.content', number>>,
  ): Promise<Awaited<ReturnType<typeof awaitJobSummary>>> {
    const routes = Object.keys(latencyMs) as (keyof typeof latencyMs)[];
    const inputUri = await writeChatInput(env, 60);
    const worker = await env.createWorker({ heavyActivitySlots: slots });
    env.emulator.setConfig({ faults: Object.fromEntries(routes.map((r) => [r, { latencyMs: latencyMs[r] }])) });
    return await worker
      .runUntil(async () => {
        const handle = await startBatchJob(
          env.conn.client,
          {
            jobId: `${jobIdPrefix}-${Date.now()}`,
            inputUri,
            endpoint: '/v1/chat/completions',
            limits: { maxRequests: 10 },
            maxActiveBatches: 6,
            wait: FAST_WAIT,
          },
          { taskQueue: env.taskQueue },
        );
        return await awaitJobSummary(handle);
      })
      .finally(() => env.emulator.setConfig({ faults: Object.fromEntries(routes.map((r) => [r, null])) }));
  }

  it("a job's plan, uploads, collects and finalize all take the worker's one slot, one at a time", async () => {
    const slots = new RecordingSlots(1);
    // Each upload holds the slot 3 s, so that the next chunks (started a few a second) queue for
    // it. Without this, on a loaded machine a tiny chunk's upload could end before the next chunk
    // started, and nothing waited (seen in CI: maxWaiting 0).
    const summary = await runSixChunkJob(slots, 'heavy-slots-job', { 'files.create': 3_000 });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(60);
    const count = (name: string): number => slots.spans.filter((s) => s.name === name).length;
    expect(count('planJob')).toBe(1);
    expect(count('uploadChunk')).toBe(6);
    expect(count('collectChunk')).toBe(6);
    expect(count('finalizeJob')).toBe(1);
    expect(slots.spans).toHaveLength(14);
    expect(disjoint(slots.spans)).toBe(true);
    // Six chunks at once did queue for the slot: the bound was exercised, not just unneeded.
    expect(slots.maxWaiting).toBeGreaterThanOrEqual(1);
  });

  it('with two slots, two uploads run side by side and a plan, collect or finalize runs alone', async () => {
    const slots = new RecordingSlots(2);
    // Uploads and downloads slow enough that, without the weights, collects meet uploads and each
    // other in the two slots (the peaks the weights exist to prevent).
    const summary = await runSixChunkJob(slots, 'heavy-slots-weights', {
      'files.create': 2_000,
      'files.content': 1_500,
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.succeeded).toBe(60);
    const uploads = slots.spans.filter((s) => s.name === 'uploadChunk');
    const others = slots.spans.filter((s) => s.name !== 'uploadChunk');
    expect(uploads).toHaveLength(6);
    expect(others.map((s) => s.name).sort()).toEqual([
      ...Array<string>(6).fill('collectChunk'),
      'finalizeJob',
      'planJob',
    ]);
    // Uploads did pair up: the second slot was used, not just allowed.
    expect(uploads.some((a, i) => uploads.some((b, j) => i !== j && overlap(a, b)))).toBe(true);
    // Never more than two at once, and nothing beside a plan, collect or finalize.
    const beside = others.flatMap((a) =>
      slots.spans.filter((b) => b !== a && overlap(a, b)).map((b) => `${a.name}|${b.name}`),
    );
    expect(beside).toEqual([]);
    expect(slots.busy).toBe(0);
  });
});
