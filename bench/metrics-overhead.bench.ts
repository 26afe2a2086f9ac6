// `npm run bench -- metrics-overhead` (run it with nice -n 19): the worker's CPU time and peak RSS
// over the same job with metrics off and on, in the same run. Each side is a fresh `worker.ts`
// process (the worker program users run) against one dev server and one emulator; with metrics on
// the endpoint is scraped every second, as a busy Prometheus would. Sides alternate, off first,
// BENCH_RUNS times each; the medians and their ratio are printed, with every run's figures.
//
// CPU is the worker process's user + system time (all threads: JS and the SDK's Rust core) from
// /proc/<pid>/stat when the job has ended; peak RSS is its VmHWM. Other load on the machine moves
// CPU time far less than wall time.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { awaitJobSummary, startBatchJob } from '../src/client/job-client.ts';
import { freePort } from '../src/tools/devserver/free-port.ts';
import { startDevServer } from '../src/tools/devserver/start-dev-server.ts';
import { startEmulator } from '../src/tools/emulator/index.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 2);
const ROWS = Number(process.env['BENCH_REQUESTS'] ?? 20_000);
const CHUNK = 2_000;
const WAIT = { minPollMs: 200, maxPollMs: 1_000, validatingPollMs: 100, progressRefreshMs: 5_000 } as const;
const TICKS_PER_SECOND = 100;

/** The process's CPU seconds (user + system, every thread) and peak RSS in MB. */
async function usage(pid: number): Promise<{ cpuS: number; peakMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based), so 11 and 12 here.
  const cpuS = (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, peakMb: Number(hwm?.[1]) / 1024 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-metrics-'));
  const server = await startDevServer({ ui: false });
  const emulator = await startEmulator({
    port: 0,
    stateDir: join(dir, 'emulator'),
    config: { rowsPerSecond: 'instant', validatingSeconds: 0.2, finalizingSeconds: 0.2 },
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const storageRoot = pathToFileURL(join(dir, 'storage')).href;
  await mkdir(join(dir, 'storage', 'inputs'), { recursive: true });
  const lines = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Classify review ${i}` }], max_tokens: 8 },
    }),
  );
  await writeFile(join(dir, 'storage', 'inputs', 'in.jsonl'), lines.join('\n') + '\n');
  const workerPath = fileURLToPath(new URL('../worker.ts', import.meta.url));
  const figures: Record<'off' | 'on', { cpuS: number; peakMb: number; scrapes: number }[]> = { off: [], on: [] };
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const side of ['off', 'on'] as const) {
        const taskQueue = `bench-metrics-${side}-${i}-${Date.now()}`;
        const address = side === 'on' ? `127.0.0.1:${await freePort()}` : undefined;
        const child = spawn(process.execPath, [workerPath], {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: process.env['HOME'] ?? '/tmp',
            TEMPORAL_ADDRESS: server.address,
            TEMPORAL_NAMESPACE: server.namespace,
            TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
            OPENAI_BASE_URL: emulator.baseURL,
            OPENAI_API_KEY: 'bench',
            OPENAI_BATCH_STORAGE_ROOT: storageRoot,
            OPENAI_BATCH_TASK_QUEUE: taskQueue,
            ...(address ? { OPENAI_BATCH_METRICS_ADDRESS: address } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          while (!out.includes('worker polling task queue')) {
            if (child.exitCode !== null) throw new Error(`worker exited: ${out}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          let scrapes = 0;
          let scraping = Boolean(address);
          const scraper = (async () => {
            while (scraping) {
              await fetch(`http://${address}/metrics`).then((r) => r.text());
              scrapes += 1;
              await new Promise((r) => setTimeout(r, 1_000));
            }
          })();
          const handle = await startBatchJob(
            client,
            {
              jobId: `bench-metrics-${side}-${i}-${Date.now()}`,
              name: 'bench-metrics',
              inputUri: `${storageRoot}/inputs/in.jsonl`,
              endpoint: '/v1/chat/completions',
              limits: { maxRequests: CHUNK },
              wait: WAIT,
            },
            { taskQueue },
          );
          const summary = await awaitJobSummary(handle);
          if (summary.status !== 'completed' || summary.counts.succeeded !== ROWS)
            throw new Error(`${side}: job ended ${summary.status} with ${summary.counts.succeeded} rows`);
          scraping = false;
          await scraper;
          const measured = await usage(child.pid!);
          figures[side].push({ ...measured, scrapes });
          console.log(
            `run ${i + 1} metrics ${side}: CPU ${measured.cpuS.toFixed(2)} s, peak RSS ${measured.peakMb.toFixed(0)} MB` +
              (address ? `, ${scrapes} scrapes` : ''),
          );
        } finally {
          child.kill('SIGTERM');
          await exited;
        }
      }
    }
    const off = { cpu: median(figures.off.map((f) => f.cpuS)), rss: median(figures.off.map((f) => f.peakMb)) };
    const on = { cpu: median(figures.on.map((f) => f.cpuS)), rss: median(figures.on.map((f) => f.peakMb)) };
    const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
    console.log(`| metrics | CPU (median of ${RUNS}) | peak RSS (median) |`);
    console.log(`|---|---|---|`);
    console.log(`| off | ${off.cpu.toFixed(2)} s | ${off.rss.toFixed(0)} MB |`);
    console.log(`| on | ${on.cpu.toFixed(2)} s | ${on.rss.toFixed(0)} MB |`);
    console.log(`| on vs off | ${pct(on.cpu, off.cpu)} | ${pct(on.rss, off.rss)} |`);
    console.log(
      `${ROWS} requests, ${ROWS / CHUNK} chunks per job; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await connection.close();
    await emulator.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
