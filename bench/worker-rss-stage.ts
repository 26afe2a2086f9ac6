import { readFile, writeFile } from 'node:fs/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { Context } from '@temporalio/activity';
import { HeavySlots } from '../activities/heavy-slots.ts';
import { main } from '../src/tools/cli/main.ts';

/**
 * The measured process of `worker-rss.bench.ts`: runs `openai-batch run <args>` in this process
 * (the CLI's own `main`, as `bin/openai-batch.js` calls it), so that this process is the one that
 * runs the worker, then prints one line `WORKER_RSS {json}` with its memory:
 *
 * - `maxRssMb`: the process's maxRSS over its whole life (module loading and the worker's
 *   workflow bundle included);
 * - `startPeakRssMb`: the peak until the job was started (the CLI prints "job <id> started" once
 *   the worker is created and the input snapshotted);
 * - `jobPeakRssMb`: the peak from then to the job's end (the kernel's peak mark is reset at that
 *   line through /proc/self/clear_refs);
 * - `maxMemoryUsageMb`: the maxima of `process.memoryUsage()` sampled every 250 ms (MiB);
 * - `rssSamples`: RSS every second (MiB), to see when the peak came; `arrayBufferSamples` the same
 *   for `process.memoryUsage().arrayBuffers`;
 * - `heavySteps`: each heavy activity's start and end (seconds since the process started, RSS in
 *   MiB then), recorded by wrapping `HeavySlots.run`, so a peak can be put down to a step.
 *
 *   node bench/worker-rss-stage.ts <input.jsonl> [run options]
 *
 * The Temporal server (TEMPORAL_ADDRESS) and the OpenAI endpoint (OPENAI_BASE_URL) come from the
 * environment as for the CLI; without OPENAI_BASE_URL the CLI embeds the emulator in this process.
 */
const args = process.argv.slice(2);
const MiB = 1024 * 1024;

async function peakSinceResetMb(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

let startPeakRssMb: number | undefined;
let jobStartedAtMs: number | undefined;
const started = performance.now();
const rssSamples: number[] = [];
const heapSamples: number[] = [];
const arrayBufferSamples: number[] = [];
const heavySteps: [number, string, string, number][] = [];
const at = (): number => Math.round(performance.now() - started) / 1000;
const rssMb = (): number => Math.round(process.memoryUsage.rss() / MiB);
// eslint-disable-next-line @typescript-eslint/unbound-method
const run = HeavySlots.prototype.run;
HeavySlots.prototype.run = async function <T>(this: HeavySlots, work: () => Promise<T>, slots?: number): Promise<T> {
  const name = Context.current().info.activityType;
  return await run.call<HeavySlots, [() => Promise<T>, number | undefined], Promise<T>>(
    this,
    async () => {
      heavySteps.push([at(), 'start', name, rssMb()]);
      try {
        return await work();
      } finally {
        heavySteps.push([at(), 'end', name, rssMb()]);
      }
    },
    slots,
  );
};
const maxMemoryUsageMb: Record<string, number> = {};
let ticks = 0;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  for (const [key, value] of Object.entries(usage))
    maxMemoryUsageMb[key] = Math.max(maxMemoryUsageMb[key] ?? 0, Math.round(value / MiB));
  for (const space of getHeapSpaceStatistics())
    maxMemoryUsageMb[space.space_name] = Math.max(
      maxMemoryUsageMb[space.space_name] ?? 0,
      Math.round(space.space_size / MiB),
    );
  if (++ticks % 4 === 0) rssSamples.push(Math.round(usage.rss / MiB));
  if (ticks % 4 === 0) heapSamples.push(Math.round(usage.heapUsed / MiB));
  if (ticks % 4 === 0) arrayBufferSamples.push(Math.round(usage.arrayBuffers / MiB));
}, 250);
sampler.unref();

const log = console.log.bind(console);
let marking: Promise<void> | undefined;
console.log = (...parts: unknown[]): void => {
  log(...parts);
  const line = parts.map(String).join(' ');
  if (startPeakRssMb === undefined && /^job \S+ started on task queue/.test(line)) {
    startPeakRssMb = process.resourceUsage().maxRSS / 1024;
    jobStartedAtMs = performance.now() - started;
    marking = writeFile('/proc/self/clear_refs', '5').catch(() => undefined);
  }
};

const exitCode = await main(['run', ...args]);
await marking;
const result = {
  exitCode,
  ms: Math.round(performance.now() - started),
  jobStartedAtMs: jobStartedAtMs === undefined ? undefined : Math.round(jobStartedAtMs),
  maxRssMb: process.resourceUsage().maxRSS / 1024,
  startPeakRssMb,
  jobPeakRssMb: await peakSinceResetMb(),
  cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
  maxMemoryUsageMb,
  rssSamples,
  heapSamples,
  arrayBufferSamples,
  heavySteps,
};
log(`WORKER_RSS ${JSON.stringify(result)}`);
process.exit(0);
