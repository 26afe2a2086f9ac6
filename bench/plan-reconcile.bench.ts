import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { planJob } from '../src/plan/index.ts';
import { finalizeJob, reconcileChunk, type ChunkOutcome } from '../src/reconcile/index.ts';
import { openStorage } from '../src/storage/index.ts';
import { readAndParse } from './baseline.ts';
import { writeOutputs, writeRequests } from './generate-job.ts';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1_000_000);
const MB = 1e6;

/** Samples RSS while a stage runs, so each stage reports its own peak, not the process's so far. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const start = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - start, peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

function row(stage: string, bytes: number, ms: number, baselineMs: number, peakRssMb: number): string {
  const mbps = bytes / MB / (ms / 1000);
  return `${stage.padEnd(28)} ${(bytes / MB).toFixed(0).padStart(6)} MB ${(ms / 1000).toFixed(1).padStart(7)} s ${mbps.toFixed(1).padStart(8)} MB/s   ${(baselineMs / ms).toFixed(2).padStart(5)}x baseline   peak RSS ${peakRssMb.toFixed(0)} MB`;
}

/** Planning, reconciliation and the final merge of a 1,000,000-request (~1 GB) chat job. */
export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oab-bench-'));
  try {
    const storage = openStorage(dir);
    const inputPath = path.join(dir, 'input.jsonl');
    console.log(`generating ${REQUESTS.toLocaleString('en')} requests in ${dir} …`);
    const inputBytes = await writeRequests(inputPath, REQUESTS);
    const inputUri = pathToFileURL(inputPath).href;

    const base = await measure(() => readAndParse([inputUri]));
    const plan = await measure(() => planJob({ jobId: 'bench', inputUri, endpoint: '/v1/chat/completions' }, storage));
    const planExact = process.env['BENCH_EXACT'] ? await measure(() => planJob({ jobId: 'bench-exact', inputUri, endpoint: '/v1/chat/completions', tokenCounting: 'exact' }, storage)) : undefined;
    const manifest = plan.value;

    let row0 = 0;
    const files: { chunk: (typeof manifest.chunks)[number]; outputUri: string; errorUri: string }[] = [];
    let outputBytes = 0;
    for (const chunk of manifest.chunks) {
      const outputUri = storage.jobUri('bench', `r0/c${chunk.index}/output.jsonl`);
      const errorUri = storage.jobUri('bench', `r0/c${chunk.index}/errors.jsonl`);
      await storage.writeAtomic(outputUri, (async function* () { yield await Promise.resolve(''); })());
      outputBytes += await writeOutputs(new URL(outputUri).pathname, new URL(errorUri).pathname, row0, row0 + chunk.requests);
      row0 += chunk.requests;
      files.push({ chunk, outputUri, errorUri });
    }
    const reconcileInputs = files.flatMap((f) => [f.chunk.uri, f.outputUri, f.errorUri]);
    const baseReconcile = await readAndParse(reconcileInputs);
    const reconcile = await measure(async () => {
      const outcomes: ChunkOutcome[] = [];
      for (const f of files) {
        outcomes.push(await reconcileChunk({ jobId: 'bench', round: 0, chunkIndex: f.chunk.index, chunkUri: f.chunk.uri, batchId: `batch_${f.chunk.index}`, batchStatus: 'completed', outputUri: f.outputUri, errorUri: f.errorUri, endpoint: '/v1/chat/completions' }, storage));
      }
      return outcomes;
    });
    const recordsUris = reconcile.value.map((o) => o.recordsUri);
    const baseFinalize = await readAndParse(recordsUris);
    const finalize = await measure(() =>
      finalizeJob({ jobId: 'bench', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions', rounds: [{ round: 0, chunks: files.map((f, i) => ({ index: f.chunk.index, recordsUri: recordsUris[i] as string, batchId: `batch_${i}` })) }] }, storage),
    );
    if (finalize.value.rows !== REQUESTS) throw new Error(`finalize wrote ${finalize.value.rows} rows, expected ${REQUESTS}`);

    console.log(`\n${REQUESTS.toLocaleString('en')} requests, ${(inputBytes / MB).toFixed(0)} MB input, ${manifest.chunks.length} chunks; Node ${process.version}`);
    console.log('ratio = time the baseline (read + JSON.parse each line, same process) needs for the same files / stage time');
    console.log(row('baseline: input', base.value.bytes, base.ms, base.ms, base.peakRssMb));
    console.log(row(`plan (${manifest.tokenCounting} tokens)`, inputBytes, plan.ms, base.ms, plan.peakRssMb));
    if (planExact) console.log(row('plan (exact tokens)', inputBytes, planExact.ms, base.ms, planExact.peakRssMb));
    console.log(row('reconcile (chunks+outputs)', baseReconcile.bytes, reconcile.ms, baseReconcile.ms, reconcile.peakRssMb));
    console.log(row('finalize (records)', baseFinalize.bytes, finalize.ms, baseFinalize.ms, finalize.peakRssMb));
    console.log(`process max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; outputs ${(outputBytes / MB).toFixed(0)} MB; results rows ${finalize.value.rows}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
