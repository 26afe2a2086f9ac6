// Holds one activity call at its start until the test releases it, so that a test can make
// something happen (a cancel, a terminate) while that activity runs. The activity itself runs
// unchanged once released; the gate heartbeats while it holds, so no heartbeat timeout fires.
import { Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { OpenAIBatchPlugin, type OpenAIBatchPluginOptions } from '../../src/plugin.ts';
import { startBatchJob, type StartJobInput } from '../../src/client/job-client.ts';
import { FAST_WAIT, type JobEnv } from './job-env.ts';
import { devServer } from './temporal.ts';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { until } from './until.ts';

export class ActivityGate {
  readonly entered: Promise<readonly unknown[]>;
  #enter!: (args: readonly unknown[]) => void;
  #release!: () => void;
  readonly #released: Promise<void>;
  #used = false;

  /** Holds the first call of `activityType` whose input `matches`. */
  readonly #activityType: string;
  readonly #matches: (input: Record<string, unknown>) => boolean;

  constructor(activityType: string, matches: (input: Record<string, unknown>) => boolean = () => true) {
    this.#activityType = activityType;
    this.#matches = matches;
    this.entered = new Promise((resolve) => (this.#enter = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  release(): void {
    this.#release();
  }

  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        if (
          !this.#used &&
          ctx.info.activityType === this.#activityType &&
          this.#matches((input.args[0] ?? {}) as Record<string, unknown>)
        ) {
          this.#used = true;
          this.#enter(input.args);
          const beat = setInterval(() => ctx.heartbeat(), 500);
          try {
            await this.#released;
          } finally {
            clearInterval(beat);
          }
        }
        return await next(input);
      },
    },
  });
}

/** How many activities of `activityType` the workflow's current run has scheduled. */
export async function scheduledActivities(client: Client, workflowId: string, activityType: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
  ).length;
}

/** Waits until the workflow has completed a workflow task after its cancel request. */
export async function untilCancelHandled(client: Client, handle: Pick<WorkflowHandle, 'workflowId'>): Promise<void> {
  await until('the job to handle its cancel request', async () => {
    const events = (await client.workflow.getHandle(handle.workflowId).fetchHistory()).events ?? [];
    const requested = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
    return requested >= 0 && events.slice(requested).some((e) => e.workflowTaskCompletedEventAttributes);
  });
}

/** A worker like `env.createWorker()`, whose activities pass through `gates`. */
export async function gatedWorker(env: JobEnv, ...gates: ActivityGate[]): Promise<Worker> {
  return await gatedWorkerWith(env, {}, ...gates);
}

/** `gatedWorker` with more plugin options (a crash hook, say). */
export async function gatedWorkerWith(
  env: JobEnv,
  options: Omit<OpenAIBatchPluginOptions, 'storageRoot' | 'openaiBaseUrl' | 'openaiApiKey'>,
  ...gates: ActivityGate[]
): Promise<Worker> {
  return await Worker.create({
    connection: env.conn.nativeConnection,
    namespace: devServer().namespace,
    taskQueue: env.taskQueue,
    plugins: [
      new OpenAIBatchPlugin({
        ...options,
        storageRoot: env.storageRoot,
        openaiBaseUrl: env.emulator.baseURL,
        openaiApiKey: 'sk-test-not-a-secret',
      }),
    ],
    interceptors: { activity: gates.map((g) => g.interceptor) },
  });
}

/**
 * Starts a job (FAST_WAIT unless `input` says otherwise) on `worker`, cancels it once `gate` holds
 * its activity, waits until the job has handled the cancel, then releases the gate; returns how the
 * job ended: its failure, or undefined when it completed.
 */
export async function cancelWhileGated(
  env: JobEnv,
  worker: Worker,
  gate: ActivityGate,
  input: StartJobInput,
): Promise<unknown> {
  return await worker.runUntil(async () => {
    const handle = await startBatchJob(env.conn.client, { wait: FAST_WAIT, ...input }, { taskQueue: env.taskQueue });
    await gate.entered;
    await handle.cancel();
    await untilCancelHandled(env.conn.client, handle);
    gate.release();
    return await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
  });
}
