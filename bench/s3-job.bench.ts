/**
 * The plan-reconcile bench's three data stages with an `s3://` root on a real MinIO server
 * (started for the run): `plan` reads the input object and writes the chunk objects, `reconcile`
 * reads chunk, output and error objects and writes records objects, `finalize` merges the records
 * objects into the results. Each stage runs in a fresh process (`s3-job-stage.ts`, which first
 * applies the V8 settings a worker process applies, by calling the CLI's `boundYoungGeneration`), followed in
 * the same process by its baseline: a raw streamed GetObject of the same objects from the same
 * server, every line JSON.parsed (the issue's yardstick); then the floor: the same GET and parse
 * with the bytes streamed back through the storage's multipart `writeAtomic`, as each stage writes
 * about what it reads. Inputs are stored with one known-length PutObject each (setup).
 *
 *   npm run bench -- s3-job        (BENCH_REQUESTS, default 1,000,000; BENCH_RUNS, default 1)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestS3 } from '../test/support/s3-server.ts';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1_000_000);
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 1));
const MB = 1e6;
const STAGE_SCRIPT = fileURLToPath(new URL('./s3-job-stage.ts', import.meta.url));

interface StageResult {
  stage: string;
  bytes: number;
  ms: number;
  baselineMs: number;
  baselinePeakRssMb: number;
  peakRssMb: number;
  cpuMs: number;
  baselineCpuMs: number;
  /** The floor yardstick: GET + JSON.parse + multipart PUT of the bytes written back. */
  floorMs: number;
  floorCpuMs: number;
  floorBytesWritten: number;
  /** What the stage itself wrote (chunk, records or results objects). */
  stageBytesWritten: number;
  extra?: Record<string, unknown>;
  /** Whether the stage process ran with the worker's young-generation bound (`boundYoungGeneration`). */
  youngGenerationBounded?: boolean;
  /** Peak RSS of the baseline run alone in a fresh process. */
  baselineAlonePeakRssMb?: number;
}

function row(
  label: string,
  bytes: number,
  ms: number,
  cpuMs: number,
  peak: number | undefined,
  r: StageResult,
): string {
  const size = `${(bytes / MB).toFixed(0).padStart(6)} MB`;
  const time = `${(ms / 1000).toFixed(1).padStart(7)} s ${(bytes / MB / (ms / 1000)).toFixed(1).padStart(7)} MB/s`;
  const ratio = `${(r.baselineMs / ms).toFixed(2).padStart(5)}x wall`;
  const cpu = `cpu ${(cpuMs / 1000).toFixed(1).padStart(5)} s ${(r.baselineCpuMs / cpuMs).toFixed(2).padStart(5)}x`;
  const rss = peak === undefined ? '' : `   peak RSS ${peak.toFixed(0)} MB`;
  return `${label.padEnd(30)} ${size} ${time}   ${ratio}   ${cpu}${rss}`;
}

/** The stage's (or the floor's own) time as a ratio against the floor yardstick. */
function floorRatios(ms: number, cpuMs: number, r: StageResult): string {
  return `${(r.floorMs / ms).toFixed(2)}x wall, cpu ${(r.floorCpuMs / cpuMs).toFixed(2)}x`;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oab-bench-s3-'));
  const s3 = await startTestS3('bench-job');
  const root = s3.root('bench');
  const step = async <T>(name: string): Promise<T> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        ...(process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []),
        '--expose-gc',
        STAGE_SCRIPT,
        name,
        dir,
        root,
        String(REQUESTS),
      ],
      { env: { ...process.env, ...s3.env }, maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
  };
  const measured = async (name: string): Promise<StageResult[]> => {
    const runs: StageResult[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await step<StageResult>(name));
    const alone = await step<{ peakRssMb: number }>(`${name}-baseline`);
    for (const r of runs) r.baselineAlonePeakRssMb = alone.peakRssMb;
    return runs.sort((a, b) => a.baselineMs / a.ms - b.baselineMs / b.ms);
  };
  try {
    console.log(`generating ${REQUESTS.toLocaleString('en')} requests into ${root} …`);
    const input = await step<{ bytes: number }>('generate-input');
    const stages: [string, StageResult[]][] = [['plan', await measured('plan')]];
    const outputs = await step<{ bytes: number }>('generate-outputs');
    stages.push(['reconcile', await measured('reconcile')], ['finalize', await measured('finalize')]);
    console.log(
      `\n${REQUESTS.toLocaleString('en')} requests, ${(input.bytes / MB).toFixed(0)} MB input, ` +
        `${(outputs.bytes / MB).toFixed(0)} MB outputs, s3:// root on MinIO (same machine); Node ${process.version}`,
    );
    const flags = ['--expose-gc', ...(process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? [])];
    const settings = Object.entries(process.env)
      .filter(([k]) => /^(MALLOC_|BENCH_S3_|NODE_OPTIONS$)/.test(k))
      .map(([k, v]) => `${k}=${v}`);
    console.log(`stage processes: node ${flags.join(' ')}${settings.length ? `; ${settings.join(' ')}` : ''}`);
    const bounded = stages.flatMap(([, runs]) => runs).every((r) => r.youngGenerationBounded === true);
    console.log(
      bounded
        ? "V8: a worker's defaults (boundYoungGeneration: --semi-space-growth-factor=1, set at process start)"
        : "V8: Node's defaults (a young-generation flag or OPENAI_BATCH_V8_DEFAULTS=1 was given)",
    );
    console.log('ratio = baseline time (raw GetObject + JSON.parse of each line of the same objects) / stage time');
    console.log(
      'floor = the same GET + JSON.parse, the bytes written back streamed through writeAtomic (multipart PUT); ' +
        'against floor = floor time / stage time',
    );
    for (const [name, runs] of stages) {
      const r = runs[Math.floor((runs.length - 1) / 2)] as StageResult;
      console.log(`${name}:`);
      console.log(row('  baseline (GET + JSON.parse)', r.bytes, r.baselineMs, r.baselineCpuMs, r.baselinePeakRssMb, r));
      console.log(row('  floor (GET + parse + PUT)', r.bytes, r.floorMs, r.floorCpuMs, undefined, r));
      console.log(row(`  ${name} (s3 root)`, r.bytes, r.ms, r.cpuMs, r.peakRssMb, r));
      console.log(
        `  ${name} against the floor: ${floorRatios(r.ms, r.cpuMs, r)}; the floor wrote ` +
          `${(r.floorBytesWritten / MB).toFixed(0)} MB, the stage ${(r.stageBytesWritten / MB).toFixed(0)} MB`,
      );
      console.log(`  baseline alone in a fresh process: peak RSS ${r.baselineAlonePeakRssMb?.toFixed(0)} MB`);
      const mem = r.extra?.['maxMemoryUsageMb'] as Record<string, number> | undefined;
      if (mem) {
        const parts = Object.entries(mem).map(([k, v]) => `${k} ${v}`);
        console.log(`  ${name}: process.memoryUsage() maxima every 50 ms (MB): ${parts.join(', ')}`);
      }
      const atPeak = r.extra?.['atPeakRssMb'] as Record<string, number> | undefined;
      if (atPeak) {
        const parts = Object.entries(atPeak).map(([k, v]) => `${k} ${v}`);
        console.log(`  ${name}: at the highest sampled RSS (MB; heap spaces over 4 MB): ${parts.join(', ')}`);
      }
      if (runs.length > 1) {
        const ratios = runs.map((x) => (x.baselineMs / x.ms).toFixed(2)).join(', ');
        const floors = runs.map((x) => (x.floorMs / x.ms).toFixed(2)).join(', ');
        console.log(
          `  ${runs.length} runs: ratios ${ratios}; against the floor ${floors}; ` +
            `peak RSS ${runs.map((x) => x.peakRssMb.toFixed(0)).join(', ')} MB`,
        );
      }
    }
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
}
