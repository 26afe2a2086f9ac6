/**
 * Peak RSS of the process that runs the worker through a whole job: `openai-batch run` of a
 * 1,000,000-request chat job (20 chunks of 50,000, 10 batches in flight) against the emulator at
 * instant speed, beside the single data stages (plan alone, reconcile alone) of the same input.
 *
 * - The job runs in a fresh process (`worker-rss-stage.ts`: the CLI's `main` in-process, so that
 *   process is the one that runs the worker). The emulator runs in a process of its own
 *   (`openai-batch emulator`, the CLI pointed at it with OPENAI_BASE_URL): the CLI's embedded
 *   emulator would share the worker's process and count its memory as the worker's. The Temporal
 *   dev server is a process of its own either way.
 * - The single stages are plan-reconcile's (`plan-reconcile-stage.ts`, each in a fresh process,
 *   peak = its maxRSS): `plan` of the input, `reconcile` of the 20 chunks one after another.
 * - Each worker setting in BENCH_SLOTS runs the job once (`OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS`:
 *   `0` is no limit), with each environment of BENCH_WORKER_ENVS (comma-separated; each one
 *   `;`-separated assignments, e.g. `NODE_OPTIONS=--max-semi-space-size=16;MALLOC_ARENA_MAX=2`;
 *   an empty entry is the plain environment); the order alternates when BENCH_RUNS > 1.
 *
 *   npm run bench -- worker-rss     (BENCH_REQUESTS, default 1,000,000; BENCH_SLOTS, default "0,2";
 *                                    BENCH_RUNS, default 1; BENCH_SINGLE_STAGES=0 skips the stages;
 *                                    BENCH_EMBEDDED=1 also runs once with the embedded emulator)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevServer } from '../src/tools/devserver/start-dev-server.ts';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1_000_000);
const SLOTS = (process.env['BENCH_SLOTS'] ?? '0,2').split(',').map((s) => s.trim());
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 1));
const SINGLE_STAGES = process.env['BENCH_SINGLE_STAGES'] !== '0';
const EMBEDDED = process.env['BENCH_EMBEDDED'] === '1';
/** Extra environment of the job's process, `;`-separated: `NODE_OPTIONS=--max-semi-space-size=16;MALLOC_ARENA_MAX=2`. */
const WORKER_ENVS = (process.env['BENCH_WORKER_ENVS'] ?? '').split(',').map((e) => e.trim());
const STAGES = fileURLToPath(new URL('./plan-reconcile-stage.ts', import.meta.url));
const JOB_STAGE = fileURLToPath(new URL('./worker-rss-stage.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/openai-batch.js', import.meta.url));

interface JobRun {
  label: string;
  exitCode: number;
  ms: number;
  maxRssMb: number;
  startPeakRssMb: number;
  jobPeakRssMb: number;
  cpuMs: number;
  rssSamples: number[];
  heapSamples: number[];
  arrayBufferSamples: number[];
  /** [seconds, 'start' | 'end', activity type, RSS MiB] of each heavy activity. */
  heavySteps: [number, string, string, number][];
  maxMemoryUsageMb: Record<string, number>;
  load: string;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function stage<T>(name: string, dir: string): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', STAGES, name, dir, String(REQUESTS)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
}

/** `openai-batch emulator` in its own process, at instant speed; resolves with its base URL. */
async function startEmulatorProcess(dir: string): Promise<{ baseURL: string; child: ChildProcess }> {
  const config = path.join(dir, 'emulator.json');
  await writeFile(config, JSON.stringify({ rowsPerSecond: 'instant', validatingSeconds: 0, finalizingSeconds: 0 }));
  const child = spawn(
    process.execPath,
    [CLI, 'emulator', '--state-dir', path.join(dir, 'emulator'), '--config', config],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const baseURL = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the emulator exited (${code}): ${out}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
  });
  child.stdout.resume();
  return { baseURL, child };
}

async function peakOfPid(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

async function runJob(label: string, input: string, dir: string, env: NodeJS.ProcessEnv): Promise<JobRun> {
  const jobId = `worker-rss-${label.replace(/\W+/g, '-')}-${Date.now()}`;
  const startLoad = load();
  const child = spawn(
    process.execPath,
    [
      JOB_STAGE,
      input,
      '--storage-root',
      path.join(dir, 'store'),
      '--job-id',
      jobId,
      '--task-queue',
      jobId,
      '--max-requests-per-batch',
      '50000',
      '--max-active-batches',
      '10',
      // The emulator's pace (EMULATOR_WAIT), which `run` picks by itself only for its embedded one.
      '--poll-min-seconds',
      '1',
      '--poll-max-seconds',
      '5',
      '--validating-poll-seconds',
      '0.5',
      '--progress-refresh-seconds',
      '3',
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'exit');
  const line = out.split('\n').find((l) => l.startsWith('WORKER_RSS '));
  if (!line) throw new Error(`${label}: no result line; output:\n${out.slice(-4000)}`);
  const r = JSON.parse(line.slice('WORKER_RSS '.length)) as Omit<JobRun, 'label' | 'load'>;
  if (r.exitCode !== 0)
    throw new Error(`${label}: openai-batch run exited ${r.exitCode}; output:\n${out.slice(-4000)}`);
  return { ...r, label, load: `${startLoad} -> ${load()}` };
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oab-bench-worker-rss-'));
  const input = path.join(dir, 'input.jsonl');
  const stops: (() => Promise<void>)[] = [];
  try {
    console.log(`generating ${REQUESTS.toLocaleString('en')} requests … (load ${load()})`);
    const { bytes } = await stage<{ bytes: number }>('generate-input', dir);
    const singles: [string, number, string][] = [];
    if (SINGLE_STAGES) {
      const plan = await stage<{ peakRssMb: number; extra: { chunks: number } }>('plan', dir);
      singles.push([`plan (${plan.extra.chunks} chunks)`, plan.peakRssMb, load()]);
      await stage('generate-outputs', dir);
      const reconcile = await stage<{ peakRssMb: number }>('reconcile', dir);
      singles.push(['reconcile (chunks one by one)', reconcile.peakRssMb, load()]);
      await rm(path.join(dir, 'bench'), { recursive: true, force: true });
    }

    const server = await startDevServer({ ui: false, allowGoBuild: false, allowDownload: false });
    stops.push(() => server.stop());
    const emulator = await startEmulatorProcess(dir);
    stops.push(async () => {
      emulator.child.kill('SIGTERM');
      await once(emulator.child, 'exit');
    });
    const base = { TEMPORAL_ADDRESS: server.address, OPENAI_BASE_URL: emulator.baseURL, OPENAI_API_KEY: 'emulator' };

    const jobs: JobRun[] = [];
    const settings = SLOTS.flatMap((slots) => WORKER_ENVS.map((extra) => ({ slots, extra })));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? settings : [...settings].reverse();
      for (const { slots, extra } of order) {
        const label = `heavy slots ${slots === '0' ? 'unlimited' : slots}${extra ? `, ${extra}` : ''}`;
        console.log(`job run: ${label} (load ${load()})`);
        const extraEnv = Object.fromEntries(
          extra
            .split(';')
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        );
        const r = await runJob(label, input, dir, { ...base, ...extraEnv, OPENAI_BATCH_HEAVY_ACTIVITY_SLOTS: slots });
        jobs.push(r);
        console.log(`  peak ${r.maxRssMb.toFixed(0)} MB in ${(r.ms / 1000).toFixed(0)} s`);
        await rm(path.join(dir, 'store'), { recursive: true, force: true });
      }
    }
    const emulatorPeakMb = await peakOfPid(emulator.child.pid);
    if (EMBEDDED) {
      // The CLI's own emulator (2,000 rows/s per batch) in the worker's process: both counted.
      const r = await runJob('embedded emulator', input, dir, {
        TEMPORAL_ADDRESS: server.address,
        OPENAI_BASE_URL: '',
        OPENAI_API_KEY: '',
      });
      jobs.push(r);
    }

    const worst = Math.max(...singles.map(([, mb]) => mb));
    console.log(
      `\n${REQUESTS.toLocaleString('en')} requests (${(bytes / 1e6).toFixed(0)} MB), 50,000 per batch, ` +
        `10 in flight, emulator at instant speed in its own process; Node ${process.version}`,
    );
    for (const [name, mb, l] of singles)
      console.log(`single stage ${name.padEnd(32)} peak RSS ${mb.toFixed(0)} MB (load ${l})`);
    for (const r of jobs) {
      const ratio = singles.length ? `  ${(r.maxRssMb / worst).toFixed(2)}x the worst single stage` : '';
      console.log(
        `job, ${r.label.padEnd(22)} peak RSS ${r.maxRssMb.toFixed(0)} MB (until the job started ` +
          `${r.startPeakRssMb.toFixed(0)}, during the job ${r.jobPeakRssMb.toFixed(0)})${ratio}; ` +
          `${(r.ms / 1000).toFixed(0)} s, ${(r.cpuMs / 1000).toFixed(0)} CPU s; load ${r.load}`,
      );
    }
    console.log(`emulator process (not counted above): peak RSS ${emulatorPeakMb.toFixed(0)} MB`);
    for (const r of jobs) {
      const mem = ['heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'new_space', 'old_space']
        .map((k) => `${k} ${r.maxMemoryUsageMb[k]}`)
        .join(', ');
      console.log(`memoryUsage() maxima (MiB), ${r.label}: ${mem}`);
    }
    for (const r of jobs) console.log(`RSS every second (MiB), ${r.label}: ${r.rssSamples.join(' ')}`);
    for (const r of jobs) console.log(`heapUsed every second (MiB), ${r.label}: ${r.heapSamples.join(' ')}`);
    for (const r of jobs) console.log(`arrayBuffers every second (MiB), ${r.label}: ${r.arrayBufferSamples.join(' ')}`);
    for (const r of jobs)
      console.log(
        `heavy activities (s, start/end, type, RSS MiB), ${r.label}: ` +
          r.heavySteps.map(([t, what, type, mb]) => `${t}s ${what === 'start' ? '+' : '-'}${type} ${mb}`).join(', '),
      );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
