// `npm run bench -- job-overhead` (run it with nice): how a job's own overhead grows with its size.
// Jobs of BENCH_CHUNKS chunks (default 10, 100 and 1,000; two rows each, so the work per chunk is
// nothing but the job's machinery) run one after another on one dev server, one emulator at instant
// speed and one in-process worker, 100 chunks in flight. For each size: wall time, CPU time of the
// dev server and of this process (worker and emulator), history events and Temporal actions, each
// also per chunk. The smallest size is the baseline the per-chunk ratios are read against.
//
// Actions are counted from the histories the way Temporal Cloud bills them: a workflow run started
// (the job's first run, each continue-as-new, each child start), an activity scheduled (a retry is
// another), a timer, a signal sent, a search attribute upsert, an update accepted, a cancel request
// sent. Heartbeats and queries are not in histories and are not counted.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { awaitJobSummary, startBatchJob } from '../src/client/job-client.ts';
import { OpenAIBatchPlugin } from '../src/plugin.ts';
import { startDevServer } from '../src/tools/devserver/start-dev-server.ts';
import { startEmulator } from '../src/tools/emulator/index.ts';
import type { JobProgress } from '../common/job-types.ts';
import { installQuietRuntime } from './quiet-runtime.ts';

const SIZES = (process.env['BENCH_CHUNKS'] ?? '10,100,1000').split(',').map(Number);
/** BENCH_BATCH_SECONDS: each batch takes about that long (its two rows), so that 100 are in flight at once. */
const BATCH_SECONDS = Number(process.env['BENCH_BATCH_SECONDS'] ?? 0);
const ROWS_PER_CHUNK = 2;
const WAIT = {
  minPollMs: 200,
  maxPollMs: 1_000,
  validatingPollMs: 100,
  progressRefreshMs: 60_000,
  heartbeatTimeoutMs: 5_000,
};

/** History event types that are Temporal actions (see the header). */
const ACTION_EVENTS = new Set([
  'activityTaskScheduled',
  'timerStarted',
  'signalExternalWorkflowExecutionInitiated',
  'upsertWorkflowSearchAttributes',
  'startChildWorkflowExecutionInitiated',
  'workflowExecutionUpdateAccepted',
  'requestCancelExternalWorkflowExecutionInitiated',
]);

interface Tally {
  events: number;
  actions: number;
  runs: number;
  /** Workflow tasks after a run's first that went to the normal queue: the worker's cache had lost the run. */
  offSticky: number;
}

/** `TASK_QUEUE_KIND_STICKY` of temporal.api.enums.v1.TaskQueueKind. */
const STICKY_TASK_QUEUE_KIND: number = 2;

/** Events and actions of every run of a workflow (following continue-as-new back to the first run). */
async function tallyRuns(client: Client, workflowId: string, startedByParent: boolean): Promise<Tally> {
  const tally: Tally = { events: 0, actions: 0, runs: 0, offSticky: 0 };
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    tally.runs += 1;
    let tasks = 0;
    for (const event of history.events ?? []) {
      const task = event.workflowTaskScheduledEventAttributes;
      if (task && tasks++ > 0 && Number(task.taskQueue?.kind) !== STICKY_TASK_QUEUE_KIND) tally.offSticky += 1;
      tally.events += 1;
      for (const key of Object.keys(event)) {
        if (!key.endsWith('EventAttributes')) continue;
        if (ACTION_EVENTS.has(key.slice(0, -'EventAttributes'.length))) tally.actions += 1;
        // A retried activity is one more action.
        const attempt = event.activityTaskStartedEventAttributes?.attempt ?? 1;
        if (key === 'activityTaskStartedEventAttributes' && attempt > 1) tally.actions += 1;
      }
    }
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId ?? undefined;
    // A run started by continue-as-new is an action; the first run is the client's start or the
    // parent's child start (counted in the parent's history).
    if (runId || !startedByParent) tally.actions += 1;
    if (!runId) return tally;
  }
}

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export async function run(): Promise<void> {
  installQuietRuntime();
  const dir = await mkdtemp(join(tmpdir(), 'bench-job-overhead-'));
  const server = await startDevServer({ ui: false });
  const port = server.address.split(':')[1] ?? '';
  const serverPid = Number(
    execFileSync('pgrep', ['-f', `[s]tart-dev --ip 127.0.0.1 --port ${port} `])
      .toString()
      .trim()
      .split('\n')[0],
  );
  const emulator = await startEmulator({
    port: 0,
    stateDir: join(dir, 'emulator'),
    config: {
      rowsPerSecond: BATCH_SECONDS > 0 ? ROWS_PER_CHUNK / BATCH_SECONDS : 'instant',
      validatingSeconds: 0.2,
      finalizingSeconds: 0.2,
      cancellingSeconds: 0.2,
    },
  });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const storageRoot = pathToFileURL(join(dir, 'storage')).href;
  await mkdir(join(dir, 'storage', 'inputs'), { recursive: true });
  const worker = await Worker.create({
    connection: native,
    namespace: server.namespace,
    taskQueue: 'bench-job-overhead',
    plugins: [new OpenAIBatchPlugin({ storageRoot, openaiBaseUrl: emulator.baseURL, openaiApiKey: 'bench' })],
  });
  const rows: string[] = [];
  try {
    await worker.runUntil(async () => {
      for (const chunks of SIZES) {
        const lines = Array.from({ length: chunks * ROWS_PER_CHUNK }, (_, i) =>
          JSON.stringify({
            custom_id: `req-${i}`,
            method: 'POST',
            url: '/v1/chat/completions',
            body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Classify review ${i}.` }] },
          }),
        );
        await writeFile(join(dir, 'storage', 'inputs', `in-${chunks}.jsonl`), lines.join('\n') + '\n');
        const jobId = `overhead-${chunks}-${Date.now()}`;
        const load = loadavg()[0] ?? 0;
        const [server0, own0, t0] = [cpuSecondsOf(serverPid), ownCpuSeconds(), Date.now()];
        const handle = await startBatchJob(
          client,
          {
            jobId,
            inputUri: `${storageRoot}/inputs/in-${chunks}.jsonl`,
            endpoint: '/v1/chat/completions',
            limits: { maxRequests: ROWS_PER_CHUNK },
            maxActiveBatches: 100,
            maxRounds: 1,
            wait: WAIT,
          },
          { taskQueue: 'bench-job-overhead' },
        );
        // The most chunks in flight at once, sampled from the job's progress query.
        let peakActive = 0;
        const sampler = setInterval(() => {
          void handle
            .query<JobProgress>('progress')
            .then((p) => (peakActive = Math.max(peakActive, p.chunks.active)))
            .catch(() => undefined);
        }, 1_000);
        const summary = await awaitJobSummary(handle).finally(() => clearInterval(sampler));
        const wallS = (Date.now() - t0) / 1000;
        const [serverCpu, ownCpu] = [cpuSecondsOf(serverPid) - server0, ownCpuSeconds() - own0];
        if (summary.status !== 'completed' || summary.counts.succeeded !== lines.length)
          throw new Error(`job of ${chunks} chunks ended ${summary.status} with ${summary.counts.succeeded} rows`);
        const job = await tallyRuns(client, jobId, false);
        const chunkTally: Tally = { events: 0, actions: 0, runs: 0, offSticky: 0 };
        for (let c = 0; c < chunks; c++) {
          const t = await tallyRuns(client, `${jobId}/r1/c${c}`, true);
          chunkTally.events += t.events;
          chunkTally.actions += t.actions;
          chunkTally.runs += t.runs;
          chunkTally.offSticky += t.offSticky;
        }
        const per = (n: number) => (n / chunks).toFixed(2);
        rows.push(
          `| ${chunks} (${peakActive}) | ${wallS.toFixed(1)} s (${per(wallS)}) | ${serverCpu.toFixed(1)} s (${per(serverCpu)}) | ` +
            `${ownCpu.toFixed(1)} s (${per(ownCpu)}) | ${job.events} (${per(job.events)}), ${job.runs} runs | ` +
            `${chunkTally.events} (${per(chunkTally.events)}) | ${job.actions + chunkTally.actions} ` +
            `(${per(job.actions + chunkTally.actions)}) | ${job.offSticky + chunkTally.offSticky} | ${load.toFixed(1)} |`,
        );
        console.log(rows.at(-1));
      }
    });
  } finally {
    await connection.close();
    await native.close();
    await emulator.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    '| chunks (most in flight) | wall (per chunk) | dev server CPU (per chunk) | worker + emulator CPU (per chunk) | ' +
      'job events (per chunk), runs | chunk events (per chunk) | actions (per chunk) | tasks off the sticky queue | load average at start |\n' +
      '|---|---|---|---|---|---|---|---|---|\n' +
      rows.join('\n'),
  );
}
