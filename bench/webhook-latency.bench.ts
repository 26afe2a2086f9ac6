// `npm run bench -- webhook-latency` (run it with nice -n 19): the time from a batch's completion
// to the start of its collection, p50 and p95, with webhooks and with polling alone, in the same
// run. Two emulators (one delivers webhooks to the project's receiver, one delivers nothing), two
// in-process workers, one dev server; one job of BENCH_BATCHES batches on each side at once.
//
// Completion is when the emulator first shows the batch terminal (its webhook notifier's record,
// within 50 ms, kept for both sides); collection starts at the `collectChunk` activity's
// ActivityTaskScheduled event in the chunk's history. Both clocks are this machine's.
//
// Durations are the defaults scaled down 10x so that the run takes a couple of minutes: polls at
// least 6 s apart (60 s by default), batches 20 s of rows then 10 s finalizing. Polling alone
// notices an end within a poll interval; a webhook does not wait for one.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { NativeConnection, Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { awaitJobSummary, startBatchJob } from '../src/client/job-client.ts';
import { OpenAIBatchPlugin } from '../src/plugin.ts';
import { startDevServer } from '../src/tools/devserver/start-dev-server.ts';
import { startEmulator } from '../src/tools/emulator/index.ts';
import { createWebhookReceiver } from '../src/webhooks/index.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../src/tools/emulator/webhooks/webhook-config.ts';
import type { WaitOptions } from '../common/job-types.ts';
import { installQuietRuntime } from './quiet-runtime.ts';

const BATCHES = Number(process.env['BENCH_BATCHES'] ?? 24);
const ROWS_PER_BATCH = 40;
const EMULATOR = { rowsPerSecond: 2, validatingSeconds: 1, finalizingSeconds: 10, cancellingSeconds: 1 } as const;
/** DEFAULT_WAIT scaled down 10x. */
const WAIT: WaitOptions = {
  minPollMs: 6_000,
  maxPollMs: 360_000,
  validatingPollMs: 200,
  progressRefreshMs: 720_000,
  heartbeatTimeoutMs: 30_000,
};

/** `TASK_QUEUE_KIND_STICKY` of temporal.api.enums.v1.TaskQueueKind: a task sent to the worker that has the workflow cached. */
const STICKY_TASK_QUEUE_KIND: number = 2;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function run(): Promise<void> {
  installQuietRuntime();
  const dir = await mkdtemp(join(tmpdir(), 'bench-webhooks-'));
  const server = await startDevServer({ ui: false });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const sides = ['webhooks', 'polling'] as const;
  const emulators = {
    webhooks: await startEmulator({ port: 0, stateDir: join(dir, 'em-webhooks'), config: EMULATOR }),
    polling: await startEmulator({ port: 0, stateDir: join(dir, 'em-polling'), config: EMULATOR }),
  };
  const receiver = createWebhookReceiver({
    temporal: client,
    openai: new OpenAI({ baseURL: emulators.webhooks.baseURL, apiKey: 'bench', maxRetries: 0, timeout: 10_000 }),
    secret: EMULATOR_WEBHOOK_SECRET,
    log: () => undefined,
  });
  const http = createServer((req, res) => receiver.nodeHandler(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  emulators.webhooks.setConfig({
    webhooks: { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/` },
  });
  const storageRoot = pathToFileURL(join(dir, 'storage')).href;
  await mkdir(join(dir, 'storage', 'inputs'), { recursive: true });
  const lines = Array.from({ length: BATCHES * ROWS_PER_BATCH }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Classify review ${i}` }], max_tokens: 8 },
    }),
  );
  await writeFile(join(dir, 'storage', 'inputs', 'in.jsonl'), lines.join('\n') + '\n');
  try {
    const workers = await Promise.all(
      sides.map((side) =>
        Worker.create({
          connection: native,
          namespace: server.namespace,
          taskQueue: `bench-${side}`,
          plugins: [
            new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: emulators[side].baseURL, openaiApiKey: 'bench' }),
          ],
        }),
      ),
    );
    const stamp = Date.now();
    const results = await Promise.all(
      sides.map(async (side, i) =>
        (workers[i] as Worker).runUntil(async () => {
          const jobId = `bench-${side}-${stamp}`;
          const handle = await startBatchJob(
            client,
            {
              jobId,
              inputUri: `${storageRoot}/inputs/in.jsonl`,
              endpoint: '/v1/chat/completions',
              limits: { maxRequests: ROWS_PER_BATCH },
              maxActiveBatches: BATCHES,
              wait: { ...WAIT, webhooks: side === 'webhooks' },
            },
            { taskQueue: `bench-${side}` },
          );
          const summary = await awaitJobSummary(handle);
          if (summary.status !== 'completed' || summary.counts.succeeded !== lines.length)
            throw new Error(`${side}: job ended ${summary.status} with ${summary.counts.succeeded} rows`);
          const ended = new Map(emulators[side].webhooks().events.map((e) => [e.batchId, e.endedAtMs]));
          const latencies: number[] = [];
          // Webhooks only: batch end to the signal in the chunk's history, and the signal to the collect.
          const toSignal: number[] = [];
          const signalToCollect: number[] = [];
          // Where the signal-to-collect time goes: workflow tasks waiting for a poller, running,
          // and the wait activity waiting for a poller and running; and workflow tasks sent to the
          // task queue rather than the worker's sticky queue (the worker had evicted the workflow).
          const parts = {
            wtQueued: [] as number[],
            wtRunning: [] as number[],
            actQueued: [] as number[],
            actRunning: [] as number[],
          };
          let tasks = 0;
          let nonSticky = 0;
          let retried = 0;
          for (const batch of emulators[side].inventory().batches) {
            const chunk = batch.metadata?.['chunk'];
            const history = await client.workflow.getHandle(`${jobId}/r1/c${chunk}`).fetchHistory();
            const collect = history.events?.find(
              (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectChunk',
            );
            const endedAt = ended.get(batch.id);
            if (!collect || endedAt === undefined) throw new Error(`${side}: batch ${batch.id} has no end or collect`);
            latencies.push(tsToMs(collect.eventTime) - endedAt);
            const signal = history.events?.find(
              (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'batchEnded',
            );
            if (signal) {
              toSignal.push(tsToMs(signal.eventTime) - endedAt);
              signalToCollect.push(tsToMs(collect.eventTime) - tsToMs(signal.eventTime));
              const events = history.events ?? [];
              const at = new Map(events.map((e) => [String(e.eventId), tsToMs(e.eventTime)]));
              const window = events.filter(
                (e) => Number(e.eventId) > Number(signal.eventId) && Number(e.eventId) <= Number(collect.eventId),
              );
              const sum = { wtQueued: 0, wtRunning: 0, actQueued: 0, actRunning: 0 };
              for (const e of window) {
                const since = (id: unknown) => tsToMs(e.eventTime) - (at.get(String(id)) ?? tsToMs(e.eventTime));
                if (e.workflowTaskScheduledEventAttributes) {
                  tasks += 1;
                  if (Number(e.workflowTaskScheduledEventAttributes.taskQueue?.kind) !== STICKY_TASK_QUEUE_KIND)
                    nonSticky += 1;
                }
                if (e.workflowTaskStartedEventAttributes)
                  sum.wtQueued += since(e.workflowTaskStartedEventAttributes.scheduledEventId);
                if (e.workflowTaskCompletedEventAttributes)
                  sum.wtRunning += since(e.workflowTaskCompletedEventAttributes.startedEventId);
                // Only the activities scheduled after the signal: the cancelled wait's started event
                // also lands here, carrying its schedule time from before the signal.
                const after = (id: unknown) => Number(id) > Number(signal.eventId);
                if (
                  e.activityTaskStartedEventAttributes &&
                  after(e.activityTaskStartedEventAttributes.scheduledEventId)
                ) {
                  sum.actQueued += since(e.activityTaskStartedEventAttributes.scheduledEventId);
                  // A retried attempt: the queued time includes the retry delays before it.
                  if ((e.activityTaskStartedEventAttributes.attempt ?? 1) > 1) retried += 1;
                }
                if (
                  e.activityTaskCompletedEventAttributes &&
                  after(e.activityTaskCompletedEventAttributes.scheduledEventId)
                )
                  sum.actRunning += since(e.activityTaskCompletedEventAttributes.startedEventId);
              }
              for (const k of Object.keys(sum) as (keyof typeof sum)[]) parts[k].push(sum[k]);
            }
          }
          for (const k of Object.keys(parts) as (keyof typeof parts)[]) parts[k].sort((x, y) => x - y);
          return {
            side,
            parts,
            tasks,
            nonSticky,
            retried,
            toSignal: toSignal.sort((a, b) => a - b),
            signalToCollect: signalToCollect.sort((a, b) => a - b),
            latencies: latencies.sort((a, b) => a - b),
            polls: emulators[side].stats().callsPerRoute['batches.retrieve'] ?? 0,
          };
        }),
      ),
    );
    console.log(`| side | batches | p50 | p95 | max | batches.retrieve calls |`);
    console.log(`|---|---|---|---|---|---|`);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    for (const { side, latencies, polls } of results) {
      console.log(
        `| ${side} | ${latencies.length} | ${s(percentile(latencies, 50))} | ${s(percentile(latencies, 95))} | ${s(latencies[latencies.length - 1] ?? NaN)} | ${polls} |`,
      );
    }
    for (const { side, toSignal, signalToCollect, parts, tasks, nonSticky, retried } of results) {
      if (toSignal.length === 0) continue;
      console.log(
        `${side}: end to signal p50 ${s(percentile(toSignal, 50))} p95 ${s(percentile(toSignal, 95))}; ` +
          `signal to collect p50 ${s(percentile(signalToCollect, 50))} p95 ${s(percentile(signalToCollect, 95))} ` +
          `(${toSignal.length} signalled)`,
      );
      const p = (xs: readonly number[]) => `p50 ${s(percentile(xs, 50))} p95 ${s(percentile(xs, 95))}`;
      console.log(
        `${side}: of signal to collect, per chunk: workflow tasks queued ${p(parts.wtQueued)}, running ${p(parts.wtRunning)}; ` +
          `wait activity queued ${p(parts.actQueued)}, running ${p(parts.actRunning)}; ` +
          `${nonSticky} of ${tasks} workflow tasks off the sticky queue; ${retried} activities after the signal ended on a retry`,
      );
    }
    console.log(
      `receiver: ${JSON.stringify(receiver.counters())}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await new Promise<void>((resolve) => {
      http.closeAllConnections();
      http.close(() => resolve());
    });
    await emulators.webhooks.stop();
    await emulators.polling.stop();
    await connection.close();
    await native.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
