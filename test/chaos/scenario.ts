// One chaos seed: a dev server and an emulator of its own (both restarted once), worker processes
// killed and restarted, faults changing on every route, maybe a cancel; then the checks.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../src/tools/devserver/start-dev-server.ts';
import {
  ROUTE_NAMES,
  startEmulator,
  type EmulatorConfigPatch,
  type EmulatorInventory,
  type RouteName,
  type RunningEmulator,
} from '../../src/tools/emulator/index.ts';
import { SeededRandom } from '../../src/tools/emulator/seeded-random.ts';
import { startBatchJob, type JobHandle } from '../../src/client/job-client.ts';
import type { JobSummary, WaitOptions } from '../../common/job-types.ts';
import { BATCH_IDS } from '../../common/search-attributes.ts';
import {
  checkBatchesKnown,
  checkNoOrphanFiles,
  checkNoneRunning,
  checkOneBatchPerKey,
  checkRowsOnce,
  checkStatuses,
  filesContaining,
  findSecret,
  type CheckResult,
} from './checks.ts';
import { planSeed, type ChaosPlan, type FaultPhase } from './plan.ts';
import { WorkerPool } from './workers.ts';

/** test/support/job-env.ts's FAST_WAIT (not imported: that module needs vitest's injected server). */
export const CHAOS_WAIT: Required<WaitOptions> = {
  minPollMs: 200,
  maxPollMs: 1_000,
  validatingPollMs: 100,
  progressRefreshMs: 5_000,
  tokenLimitBackoffMs: 1_000,
  maxTokenLimitRetries: 36,
  heartbeatTimeoutMs: 5_000,
  webhooks: false,
  recoveryWaitMs: 3_600_000,
};

export interface SeedOptions {
  readonly bundlePath: string;
  /** How long the job may take to end after it started. */
  readonly jobTimeoutMs: number;
  readonly keepDirs: boolean;
  readonly log: (line: string) => void;
}

export interface SeedOutcome {
  readonly seed: number;
  readonly plan: ChaosPlan;
  readonly figures: Record<string, string | number>;
  readonly checks: readonly CheckResult[];
  readonly dir: string;
}

const ROW_ERROR_CODES = new Set(['server_error', 'rate_limit_exceeded', 'timeout']);
const NONE_RUNNING_GRACE_MS = 3_000;

export async function runSeed(seed: number, options: SeedOptions): Promise<SeedOutcome> {
  const plan = planSeed(seed);
  let t0 = 0;
  const kills: Record<string, number> = {};
  const log = (line: string): void =>
    options.log(`[seed ${seed} ${((Date.now() - (t0 || Date.now())) / 1000).toFixed(1)}s] ${line}`);
  const rng = new SeededRandom(`chaos-run-${seed}`);
  const dir = await mkdtemp(join(tmpdir(), `chaos-${seed}-`));
  const storageDir = join(dir, 'storage');
  const storageRoot = pathToFileURL(storageDir).href;
  const jobId = `chaos-${seed}-${Date.now().toString(36)}`;
  const taskQueue = `chaos-${seed}`;
  const events: string[] = [];
  const note = (e: string): void => {
    events.push(e);
    log(e);
  };
  const timers: NodeJS.Timeout[] = [];
  const extraViolations: string[] = [];
  let handle: JobHandle | undefined;
  let cancelled = false;

  // --- the servers
  const dbFilename = join(dir, 'temporal.sqlite');
  let devServer: DevServer = await startDevServer({ ui: false, dbFilename });
  const address = devServer.address;
  const devPort = Number(address.split(':').pop());
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });

  let currentFaults: FaultPhase = plan.faultPhases[0]!;
  const emulatorConfig: EmulatorConfigPatch = {
    ...plan.emulator,
    apiKeys: [plan.apiKey],
    faults: currentFaults.faults,
  };
  const stateDir = join(dir, 'emulator');
  const pool = new WorkerPool(
    {
      temporalAddress: () => address,
      taskQueue,
      storageRoot,
      openaiBaseUrl: () => emulator.baseURL,
      apiKey: plan.apiKey,
      bundlePath: options.bundlePath,
    },
    plan.workers,
  );
  const routeKills = plan.kills.filter((k) => k.kind === 'route').map((k) => ({ ...k, fired: false }));
  const at = (ms: number, what: () => void | Promise<void>): void => {
    timers.push(
      setTimeout(() => {
        void (async () => {
          try {
            await what();
          } catch (err) {
            note(`chaos step failed: ${String(err)}`);
          }
        })();
      }, ms),
    );
  };
  const cancelJob = async (): Promise<void> => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      try {
        await handle!.cancel();
        cancelled = true;
        note(`job: cancel requested (after ${createsSeen} batches.create calls)`);
        return;
      } catch (err) {
        if (attempt === 30) throw err;
        await sleep(1_000);
      }
    }
  };
  let createsSeen = 0;
  let cancelAtMs: number | undefined;
  const onCall = (route: RouteName): void => {
    if (!t0) return;
    const elapsed = Date.now() - t0;
    if (
      route === 'batches.create' &&
      plan.cancel &&
      cancelAtMs === undefined &&
      ++createsSeen >= plan.cancel.afterCreates &&
      elapsed >= plan.cancel.notBeforeMs
    ) {
      cancelAtMs = elapsed + plan.cancel.delayMs;
      at(plan.cancel.delayMs, cancelJob);
    }
    for (const k of routeKills) {
      if (k.fired || k.route !== route || elapsed < k.armedAtMs || elapsed >= plan.chaosEndsAtMs) continue;
      k.fired = true;
      const n = pool.kill('all', k.restartAfterMs, () => rng.next());
      note(`kill ${n} workers during ${route}`);
      kills[`during ${route}`] = (kills[`during ${route}`] ?? 0) + 1;
      break;
    }
  };
  let emulator: RunningEmulator = await startEmulator({ port: 0, stateDir, config: emulatorConfig, onCall });
  const emulatorPort = emulator.port;

  // --- the input
  await mkdir(join(storageDir, 'inputs'), { recursive: true });
  const inputIds = Array.from({ length: plan.rows }, (_, i) => `row-${seed}-${i}`);
  const inputPath = join(storageDir, 'inputs', 'chaos.jsonl');
  await writeFile(
    inputPath,
    inputIds
      .map((id, i) =>
        JSON.stringify({
          custom_id: id,
          method: 'POST',
          url: '/v1/chat/completions',
          body: {
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: `Classify review ${i}: good value, fast shipping.` }],
            max_tokens: 16,
          },
        }),
      )
      .join('\n') + '\n',
  );

  let summary: JobSummary | undefined;
  let jobEnd: string | undefined;
  /** Restarts under way: the checks wait for them. */
  const restarting: Promise<void>[] = [];
  let finalizeWatch: NodeJS.Timeout | undefined;
  const restarts = { devServer: 0, emulator: 0 };
  let atEnd: EmulatorInventory | undefined;
  let later: EmulatorInventory | undefined;
  try {
    pool.start();
    handle = await startBatchJob(
      client,
      {
        jobId,
        inputUri: pathToFileURL(inputPath).href,
        endpoint: '/v1/chat/completions',
        limits: { maxRequests: plan.maxRequests },
        maxActiveBatches: plan.maxActiveBatches,
        maxRounds: plan.maxRounds,
        wait: CHAOS_WAIT,
      },
      { taskQueue },
    );
    t0 = Date.now();
    note(
      `job ${jobId}: ${plan.rows} rows, ${plan.maxRequests} per chunk, ${plan.maxActiveBatches} active, ${plan.maxRounds} rounds`,
    );
    // Fault phases: replace the whole fault table each time.
    for (const phase of plan.faultPhases.slice(1)) {
      at(phase.atMs, () => {
        currentFaults = phase;
        emulator.setConfig({ faults: Object.fromEntries(ROUTE_NAMES.map((r) => [r, null])) });
        emulator.setConfig({ faults: phase.faults });
        note(`faults: ${phase.label}`);
      });
    }
    for (const k of plan.kills) {
      if (k.kind === 'timed') {
        at(k.atMs, () => {
          const n = pool.kill(k.all ? 'all' : 'one', k.restartAfterMs, () => rng.next());
          kills['timed'] = (kills['timed'] ?? 0) + n;
          note(`kill ${n} worker(s) at a random moment`);
        });
      } else if (k.kind === 'crash-point') {
        at(k.atMs, () => {
          pool.spawnCrashing(k.point);
          note(`start a worker that dies ${k.point}`);
        });
      } else if (k.kind === 'finalize') {
        // The job's results file appears (as a temporary file) when finalize starts writing.
        finalizeWatch = setInterval(() => {
          void readdir(join(storageDir, jobId))
            .then((names) => {
              if (!finalizeWatch || !names.some((n) => n.startsWith('results.jsonl') || n.startsWith('failures.jsonl')))
                return;
              clearInterval(finalizeWatch);
              finalizeWatch = undefined;
              const n = pool.kill('all', k.restartAfterMs, () => rng.next());
              kills['during finalize'] = (kills['during finalize'] ?? 0) + 1;
              note(`kill ${n} workers during finalize`);
            })
            .catch(() => undefined);
        }, 100);
      }
    }
    at(plan.chaosEndsAtMs, () => {
      emulator.setConfig({ faults: Object.fromEntries(ROUTE_NAMES.map((r) => [r, null])) });
      currentFaults = { atMs: plan.chaosEndsAtMs, label: 'calm', faults: {} };
      note('chaos over: faults off, no more kills but the finalize one');
    });
    at(plan.devServerRestart.atMs, async () => {
      note('dev server: stop');
      const devDown = (async () => {
        await devServer.stop();
        await sleep(plan.devServerRestart.downMs);
        devServer = await startDevServer({ ui: false, dbFilename, port: devPort });
        restarts.devServer++;
        note('dev server: up again');
      })();
      restarting.push(devDown);
      await devDown;
    });
    at(plan.emulatorRestart.atMs, async () => {
      note('emulator: stop');
      const emulatorDown = (async () => {
        const config = emulator.config();
        await emulator.stop();
        await sleep(plan.emulatorRestart.downMs);
        emulator = await startEmulator({
          port: emulatorPort,
          stateDir,
          config: { ...config, faults: currentFaults.faults },
          onCall,
        });
        restarts.emulator++;
        note('emulator: up again');
      })();
      restarting.push(emulatorDown);
      await emulatorDown;
    });
    // --- wait for the end (the dev server may be down for a while: retry the long poll)
    const deadline = t0 + options.jobTimeoutMs;
    while (jobEnd === undefined && Date.now() < deadline) {
      try {
        summary = await Promise.race<JobSummary | undefined>([handle.result(), quietTimeout(deadline - Date.now())]);
        if (summary) jobEnd = summary.status;
      } catch (err) {
        if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
          // A cancelled job finalizes, then ends as a cancelled workflow (see job-cancel.test.ts).
          jobEnd = 'cancelled';
        } else if (err instanceof WorkflowFailedError) {
          jobEnd = 'failed';
          extraViolations.push(`the job failed: ${err.cause?.message ?? err.message}`);
        } else await sleep(1_000);
      }
    }
    const endedAfterMs = Date.now() - t0;
    for (const t of timers) clearTimeout(t);
    if (finalizeWatch) clearInterval(finalizeWatch);
    // A restart in progress finishes before anything is read.
    await Promise.allSettled(restarting);
    atEnd = emulator.inventory();
    await sleep(NONE_RUNNING_GRACE_MS);
    later = emulator.inventory();
    note(`job ended: ${jobEnd ?? 'NOT ENDED'} after ${(endedAfterMs / 1000).toFixed(1)} s`);
    if (jobEnd === undefined) {
      extraViolations.push(
        `the job did not end within ${options.jobTimeoutMs / 1000} s${cancelled ? ' (it was cancelled)' : ''}; ${await whatIsOpen(client)}`,
      );
    } else if (jobEnd !== 'completed' && !(cancelled && jobEnd === 'cancelled')) {
      if (jobEnd !== 'failed')
        extraViolations.push(`the job ended ${jobEnd}${cancelled ? ' after a cancel' : ' with no cancel'}`);
    }
    await pool.stopAll();

    // --- the checks
    const stats = emulator.stats();
    const resultsPath = join(storageDir, jobId, 'results.jsonl');
    const rows = await readFile(resultsPath, 'utf8')
      .then((t) =>
        t
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as { custom_id: string; status: string; error?: { code?: string } | null }),
      )
      .catch(() => undefined);
    const report = await readFile(join(storageDir, jobId, 'report.json'), 'utf8')
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => undefined);
    const histories = await checkHistories(client, plan.apiKey, jobId);
    const resultsInput = { inputIds, rows, jobStatus: jobEnd, report, rowErrorCodes: ROW_ERROR_CODES };
    const checks: CheckResult[] = [
      { name: 'job ended as expected', violations: extraViolations, note: jobEnd ?? 'hung' },
      checkRowsOnce(resultsInput),
      checkStatuses(resultsInput),
      checkOneBatchPerKey(stats, atEnd, jobId),
      checkNoneRunning(atEnd, later, NONE_RUNNING_GRACE_MS),
      checkBatchesKnown(atEnd, summary ? new Set(summary.batchIds) : await batchIdsOfRunningJob(client, jobId)),
      checkNoOrphanFiles(atEnd, jobId),
      histories.check,
      await checkFiles(storageDir, plan.apiKey),
      {
        name: 'key in no worker log',
        violations: pool.logs().includes(plan.apiKey) ? ["the API key appears in a worker's output"] : [],
      },
    ];
    if (jobEnd === undefined && handle)
      await handle.terminate('chaos: the job did not end in time').catch(() => undefined);

    const figures: Record<string, string | number> = {
      rows: plan.rows,
      'chunk workflows': Object.entries(histories.chunksByRound)
        .map(([r, n]) => `r${r} ${n}`)
        .join(', '),
      rounds: summary ? summary.rounds.length : `${Object.keys(histories.chunksByRound).length} (no summary)`,
      'history runs': histories.runs,
      'kills (runner)': pool.counts.killed,
      'kills by kind':
        Object.entries(kills)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || '-',
      'crash-point deaths': pool.counts.crashedAtPoint,
      'unexpected worker exits': pool.counts.unexpectedExits,
      'workers started': pool.counts.started,
      restarts: `dev server ${restarts.devServer}, emulator ${restarts.emulator}`,
      cancel: !plan.cancel
        ? 'no'
        : cancelled && cancelAtMs !== undefined
          ? `at ${(cancelAtMs / 1000).toFixed(0)} s`
          : 'planned, not sent (the job ended first)',
      'faults injected': `${stats.faultsInjectedTotal} (${faultKinds(stats.faultsInjected)})`,
      'batches created': stats.batchesCreated,
      'files uploaded': stats.filesUploaded,
      'API calls': Object.values(stats.callsPerRoute).reduce((a, b) => a + b, 0),
      'job end': jobEnd ?? 'hung',
      duration: `${(endedAfterMs / 1000).toFixed(0)} s`,
    };
    for (const line of pool.counts.unexpectedExitLines.slice(0, 3)) log(line);
    if (options.keepDirs) await writeFile(join(dir, 'events.log'), `${events.join('\n')}\n\n${pool.logs()}`);
    return { seed, plan, figures, checks, dir };
  } finally {
    for (const t of timers) clearTimeout(t);
    if (finalizeWatch) clearInterval(finalizeWatch);
    await pool.stopAll().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await emulator.stop().catch(() => undefined);
    await devServer.stop().catch(() => undefined);
    if (!options.keepDirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Resolves undefined after `ms`, without keeping the process alive. */
function quietTimeout(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), Math.max(1, ms)).unref());
}

function faultKinds(byRoute: Record<string, Record<string, number>>): string {
  const kinds: Record<string, number> = {};
  for (const perKind of Object.values(byRoute))
    for (const [k, n] of Object.entries(perKind)) kinds[k] = (kinds[k] ?? 0) + n;
  return Object.entries(kinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** Every run of every workflow on this seed's server (the job, its chunks, continued runs): the key in none. */
async function checkHistories(
  client: Client,
  secret: string,
  jobId: string,
): Promise<{ check: CheckResult; runs: number; chunksByRound: Record<string, number> }> {
  const v: string[] = [];
  let runs = 0;
  let mine = 0;
  const chunks = new Map<string, string>();
  for await (const wf of client.workflow.list()) {
    runs++;
    if (wf.workflowId.startsWith(jobId)) mine++;
    const m = /\/r(\d+)\/c(\d+)$/.exec(wf.workflowId);
    if (m) chunks.set(wf.workflowId, m[1]!);
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const where = findSecret(history, secret);
    if (where.length)
      v.push(`the API key is in the history of ${wf.workflowId} (run ${wf.runId}) at ${where.slice(0, 2).join(', ')}`);
  }
  if (mine === 0) v.push('no workflow history of the job was found (the check saw nothing)');
  const chunksByRound: Record<string, number> = {};
  for (const round of chunks.values()) chunksByRound[round] = (chunksByRound[round] ?? 0) + 1;
  return { check: { name: 'key in no history', violations: v, note: `${runs} runs` }, runs, chunksByRound };
}

/** For a job that did not end: each open workflow and what it waits on. */
async function whatIsOpen(client: Client): Promise<string> {
  const parts: string[] = [];
  try {
    for await (const wf of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
      const raw = d.raw.pendingActivities ?? [];
      const acts = raw.map(
        (a) =>
          `${a.activityType?.name ?? '?'} attempt ${a.attempt ?? '?'}${a.lastFailure?.message ? ` (last failure: ${a.lastFailure.message.slice(0, 120)})` : ''}`,
      );
      const children = d.raw.pendingChildren?.length ?? 0;
      // A workflow task that keeps timing out (a worker slower than the task timeout to replay the
      // history, as on a starved machine) is not a wait on anything: say so, so it is not read as a hang.
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const taskTimeouts = (history.events ?? []).filter((e) => e.workflowTaskTimedOutEventAttributes).length;
      const taskAttempt = d.raw.pendingWorkflowTask?.attempt ?? 0;
      const task =
        taskTimeouts > 0 || taskAttempt > 1
          ? `, workflow task timed out ${taskTimeouts} time(s) in history${taskAttempt > 1 ? `, pending task at attempt ${taskAttempt}` : ''}`
          : '';
      parts.push(
        `${wf.workflowId}: ${acts.length ? acts.join('; ') : 'no pending activity'}${children ? `, ${children} pending children` : ''}${task}${d.raw.workflowExtendedInfo?.cancelRequested ? ', cancel requested' : ''}`,
      );
    }
  } catch (err) {
    parts.push(`(could not list open workflows: ${String(err)})`);
  }
  return parts.length ? `open: ${parts.join(' | ')}` : 'no workflow is open';
}

/** A job with no summary (it hung or failed): the batch ids it published in its search attribute. */
async function batchIdsOfRunningJob(client: Client, jobId: string): Promise<ReadonlySet<string> | undefined> {
  try {
    const description = await client.workflow.getHandle(jobId).describe();
    const ids = description.typedSearchAttributes.get(BATCH_IDS);
    return ids ? new Set(ids) : undefined;
  } catch {
    return undefined;
  }
}

async function checkFiles(storageDir: string, secret: string): Promise<CheckResult> {
  const { files, hits } = await filesContaining(storageDir, secret);
  return {
    name: 'key in no result file',
    violations: hits.map((h) => `the API key is in ${h}`),
    note: `${files} files`,
  };
}
