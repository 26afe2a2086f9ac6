import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { planJob, type JobManifest } from '../src/plan/index.ts';
import { finalizeJob, reconcileChunk, type ChunkOutcome } from '../src/reconcile/index.ts';
import { openStorage } from '../src/storage/index.ts';
import { readAndParse } from './baseline.ts';
import { writeOutputs, writeRequests } from './generate-job.ts';

/**
 * One step of the plan/reconcile benchmark, run in its own process by `plan-reconcile.bench.ts`
 * (`node --expose-gc bench/plan-reconcile-stage.ts <step> <dir> <requests>`), so that each stage's
 * peak RSS is its own and not the generator's or an earlier stage's. Prints one JSON line.
 *
 * A measured stage runs first in its fresh process, and its peak RSS is the process's maxRSS right
 * after it (process start and module loading included). Then, in the same process, the baseline
 * (read + JSON.parse of the same files) runs twice; the ratio uses the faster run (conservative for
 * the stage). The baseline's own peak is the kernel's peak-RSS mark, reset before it runs
 * (/proc/self/clear_refs), so the stage's memory does not count against it either.
 */

interface StageResult {
  stage: string;
  bytes: number;
  ms: number;
  baselineMs: number;
  baselineBytes: number;
  /** Peak RSS while the baseline ran (from its start, the stage's leftovers included). */
  baselinePeakRssMb: number;
  peakRssMb: number;
  /** CPU time (user + system, every thread of the process) of the stage and of the faster baseline run. */
  cpuMs: number;
  baselineCpuMs: number;
  extra?: Record<string, unknown>;
}

const [step, dirArg, requestsArg] = process.argv.slice(2);
if (!step || !dirArg || !requestsArg) throw new Error('usage: plan-reconcile-stage.ts <step> <dir> <requests>');
const dir: string = dirArg;
const REQUESTS = Number(requestsArg);
const storage = openStorage(dir);
const inputPath = path.join(dir, 'input.jsonl');
const inputUri = pathToFileURL(inputPath).href;
const ENDPOINT = '/v1/chat/completions';

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;
const cpuMsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Resets the kernel's peak-RSS mark (VmHWM); false where /proc does not allow it. */
async function resetPeakRss(): Promise<boolean> {
  try {
    await writeFile('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

async function peakRssSinceResetMb(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

async function measured(
  stage: string,
  files: string[],
  fn: () => Promise<Record<string, unknown> | undefined>,
): Promise<StageResult> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const extra = await fn();
  const ms = performance.now() - start;
  const cpuMs = cpuMsSince(cpu);
  const peakRssMb = maxRssMb();
  gc();
  const reset = await resetPeakRss();
  const cpu1 = process.cpuUsage();
  const base1 = await readAndParse(files);
  const baseCpu1 = cpuMsSince(cpu1);
  gc();
  const cpu2 = process.cpuUsage();
  const base2 = await readAndParse(files);
  const baseCpu2 = cpuMsSince(cpu2);
  const baselinePeakRssMb = reset ? await peakRssSinceResetMb() : maxRssMb();
  return {
    stage,
    bytes: base1.bytes,
    ms,
    baselineMs: Math.min(base1.ms, base2.ms),
    baselineBytes: base1.bytes,
    baselinePeakRssMb,
    peakRssMb,
    cpuMs,
    baselineCpuMs: Math.min(baseCpu1, baseCpu2),
    ...(extra ? { extra } : {}),
  };
}

async function readJson<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as T;
}

function outputUris(chunkIndex: number): { outputUri: string; errorUri: string } {
  return {
    outputUri: storage.jobUri('bench', `r0/c${chunkIndex}/output.jsonl`),
    errorUri: storage.jobUri('bench', `r0/c${chunkIndex}/errors.jsonl`),
  };
}

let result: unknown;
switch (step) {
  case 'generate-input':
    result = { bytes: await writeRequests(inputPath, REQUESTS) };
    break;
  case 'plan':
  case 'plan-exact': {
    const exact = step === 'plan-exact';
    const jobId = exact ? 'bench-exact' : 'bench';
    let manifest: JobManifest | undefined;
    const r = await measured(step, [inputUri], async () => {
      manifest = await planJob(
        { jobId, inputUri, endpoint: ENDPOINT, ...(exact ? { tokenCounting: 'exact' as const } : {}) },
        storage,
      );
      return {
        chunks: manifest.chunks.length,
        tokenCounting: manifest.tokenCounting,
        estimatedInputTokens: manifest.estimatedInputTokens,
      };
    });
    if (!exact) await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    result = r;
    break;
  }
  case 'generate-outputs': {
    const manifest = await readJson<JobManifest>('manifest.json');
    let row0 = 0;
    let bytes = 0;
    for (const chunk of manifest.chunks) {
      const { outputUri, errorUri } = outputUris(chunk.index);
      await storage.writeAtomic(
        outputUri,
        (async function* () {
          yield await Promise.resolve('');
        })(),
      );
      bytes += await writeOutputs(new URL(outputUri).pathname, new URL(errorUri).pathname, row0, row0 + chunk.requests);
      row0 += chunk.requests;
    }
    result = { bytes };
    break;
  }
  case 'reconcile': {
    const manifest = await readJson<JobManifest>('manifest.json');
    const files = manifest.chunks.flatMap((c) => [c.uri, outputUris(c.index).outputUri, outputUris(c.index).errorUri]);
    let outcomes: ChunkOutcome[] = [];
    result = await measured(step, files, async () => {
      outcomes = [];
      for (const c of manifest.chunks) {
        outcomes.push(
          await reconcileChunk(
            {
              jobId: 'bench',
              round: 0,
              chunkIndex: c.index,
              chunkUri: c.uri,
              batchId: `batch_${c.index}`,
              batchStatus: 'completed',
              ...outputUris(c.index),
              endpoint: ENDPOINT,
            },
            storage,
          ),
        );
      }
      return { retry: outcomes.reduce((n, o) => n + o.retryCount, 0) };
    });
    await writeFile(path.join(dir, 'outcomes.json'), JSON.stringify(outcomes));
    break;
  }
  case 'finalize': {
    const outcomes = await readJson<ChunkOutcome[]>('outcomes.json');
    const recordsUris = outcomes.map((o) => o.recordsUri);
    result = await measured(step, recordsUris, async () => {
      const report = await finalizeJob(
        {
          jobId: 'bench',
          model: 'gpt-4o-mini',
          endpoint: ENDPOINT,
          rounds: [
            {
              round: 0,
              chunks: recordsUris.map((recordsUri, index) => ({ index, recordsUri, batchId: `batch_${index}` })),
            },
          ],
        },
        storage,
      );
      if (report.rows !== REQUESTS) throw new Error(`finalize wrote ${report.rows} rows, expected ${REQUESTS}`);
      return { rows: report.rows };
    });
    break;
  }
  default:
    throw new Error(`unknown step ${step}`);
}
process.stdout.write(JSON.stringify(result) + '\n');
