import { parseJsonLines, parseJsonLinesPassing } from './json-lines-yardstick.ts';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { planJob, type JobManifest } from '../src/plan/index.ts';
import { finalizeJob, reconcileChunk, type ChunkOutcome } from '../src/reconcile/index.ts';
import { S3Storage } from '../src/storage/s3-storage.ts';
import { parseSliceUri } from '../src/storage/slice-uri.ts';
import { writeOutputs, writeRequests } from './generate-job.ts';

/**
 * One step of `s3-job.bench.ts` in its own process, started through `s3-job-stage.ts` (which
 * applies a worker's V8 settings first): the plan-reconcile bench's stages with an
 * `s3://` root on MinIO (`node --expose-gc bench/s3-job-stage.ts <step> <dir> <root> <requests>`,
 * endpoint and credentials in the environment; <dir> holds local scratch and the manifests).
 * Prints one JSON line.
 *
 * A measured stage runs first in its fresh process; its peak RSS is the process's maxRSS right
 * after it (process start and modules included). Then, in the same process, the baseline runs
 * twice: a raw GetObject of each object the stage read, from the same server, every line
 * JSON.parsed, nothing else; the ratio uses the faster run. The baseline's peak is the kernel's
 * peak-RSS mark, reset before it (/proc/self/clear_refs). Then, twice too, the floor: the same GET
 * and parse, each object streamed on into a multipart upload through the storage's own
 * `writeAtomic` (the objects each stage writes back: see `floorWrites`), since every stage writes
 * about what it reads and the baseline alone writes nothing.
 */
const [step, dirArg, root, requestsArg] = process.argv.slice(2);
if (!step || !dirArg || !root || !requestsArg) {
  throw new Error('usage: s3-job-stage.ts <step> <dir> <s3-root> <requests>');
}
const dir: string = dirArg;
const REQUESTS = Number(requestsArg);
const ENDPOINT = '/v1/chat/completions';
const bucket = root.slice('s3://'.length).split('/')[0] ?? '';
// BENCH_S3_PART_MIB and BENCH_S3_QUEUE: the storage's part size and parts in flight (defaults otherwise).
const partMib = Number(process.env['BENCH_S3_PART_MIB'] ?? 0);
const queue = Number(process.env['BENCH_S3_QUEUE'] ?? 0);
const storage = new S3Storage(root, {
  ...(partMib > 0 ? { partBytes: partMib << 20 } : {}),
  ...(queue > 0 ? { queueSize: queue } : {}),
});
const raw = new S3Client({
  endpoint: process.env['OPENAI_BATCH_S3_ENDPOINT'] ?? '',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const inputUri = storage.jobUri('inputs', 'input.jsonl');
const keyOf = (uri: string): string => uri.slice(`s3://${bucket}/`.length);

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;
const cpuMsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

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

/** Stores a local file as one known-length PutObject (setup, not measured). */
async function put(uri: string, file: string): Promise<number> {
  const bytes = (await stat(file)).size;
  await raw.send(
    new PutObjectCommand({ Bucket: bucket, Key: keyOf(uri), Body: createReadStream(file), ContentLength: bytes }),
  );
  return bytes;
}

/** A raw GetObject of an object, or of a slice's bytes of one (a ranged GET: what the stage reads). */
async function getObject(uri: string): Promise<AsyncIterable<Buffer>> {
  const slice = parseSliceUri(uri);
  const range = slice && slice.length > 0 ? `bytes=${slice.offset}-${slice.offset + slice.length - 1}` : undefined;
  const out = await raw.send(
    new GetObjectCommand({ Bucket: bucket, Key: keyOf(slice ? slice.base : uri), ...(range ? { Range: range } : {}) }),
  );
  return out.Body as AsyncIterable<Buffer>;
}

/** The yardstick: a streamed GetObject of each object, every line JSON.parsed, nothing else. */
async function getAndParse(uris: string[]): Promise<{ bytes: number; ms: number }> {
  const start = performance.now();
  let bytes = 0;
  for (const uri of uris) {
    bytes += await parseJsonLines(await getObject(uri));
  }
  return { bytes, ms: performance.now() - start };
}

/**
 * The floor yardstick: the baseline's GET and parse, with the objects `writeBack` picks streamed
 * on, piece by piece as they are parsed, into `writeAtomic` (multipart, the stages' upload path)
 * under `bench/floor/`; the copies are removed afterwards, outside the time.
 */
async function getParseAndPut(
  uris: string[],
  writeBack: (uri: string) => boolean,
): Promise<{ bytes: number; written: number; ms: number; cpuMs: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const counted = { bytes: 0 };
  const copies: string[] = [];
  let written = 0;
  for (const [i, uri] of uris.entries()) {
    const body = await getObject(uri);
    if (!writeBack(uri)) {
      counted.bytes += await parseJsonLines(body);
      continue;
    }
    const copy = await storage.writeAtomic(
      storage.jobUri('bench', 'floor', `${i}.jsonl`),
      parseJsonLinesPassing(body, counted),
    );
    written += copy.bytes;
    copies.push(copy.uri);
  }
  const ms = performance.now() - start;
  const cpuMs = cpuMsSince(cpu);
  for (const uri of copies) await storage.delete(uri);
  return { bytes: counted.bytes, written, ms, cpuMs };
}

async function measured(
  stage: string,
  uris: () => string[],
  fn: () => Promise<Record<string, unknown> | undefined>,
  writeBack: (uri: string) => boolean,
  written: () => Promise<number>,
): Promise<Record<string, unknown>> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const mem = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  // The whole breakdown at the sample with the highest RSS: what the peak is made of.
  let atPeak: Record<string, number> = {};
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss / 1e6 > mem.rss) {
      atPeak = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v / 1e6)]));
      for (const s of v8.getHeapSpaceStatistics()) {
        if (s.space_size > 4e6) atPeak[s.space_name] = Math.round(s.space_size / 1e6);
      }
    }
    for (const k of Object.keys(mem) as (keyof typeof mem)[]) mem[k] = Math.max(mem[k], Math.round(m[k] / 1e6));
  }, 50);
  const extra = { ...(await fn()), maxMemoryUsageMb: mem, atPeakRssMb: atPeak };
  clearInterval(sampler);
  const ms = performance.now() - start;
  const cpuMs = cpuMsSince(cpu);
  const peakRssMb = maxRssMb();
  gc();
  const reset = await resetPeakRss();
  const cpu1 = process.cpuUsage();
  const base1 = await getAndParse(uris());
  const baseCpu1 = cpuMsSince(cpu1);
  gc();
  const cpu2 = process.cpuUsage();
  const base2 = await getAndParse(uris());
  const baseCpu2 = cpuMsSince(cpu2);
  const baselinePeakRssMb = reset ? await peakRssSinceResetMb() : maxRssMb();
  const stageBytesWritten = await written();
  gc();
  const floor1 = await getParseAndPut(uris(), writeBack);
  gc();
  const floor2 = await getParseAndPut(uris(), writeBack);
  return {
    stage,
    bytes: base1.bytes,
    ms,
    baselineMs: Math.min(base1.ms, base2.ms),
    baselinePeakRssMb,
    peakRssMb,
    cpuMs,
    baselineCpuMs: Math.min(baseCpu1, baseCpu2),
    floorMs: Math.min(floor1.ms, floor2.ms),
    floorCpuMs: Math.min(floor1.cpuMs, floor2.cpuMs),
    floorBytesWritten: floor1.written,
    stageBytesWritten,
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
  case 'generate-input': {
    const local = path.join(dir, 'input.jsonl');
    await writeRequests(local, REQUESTS);
    result = { bytes: await put(inputUri, local) };
    await rm(local);
    break;
  }
  case 'plan': {
    let manifest: JobManifest | undefined;
    result = await measured(
      step,
      () => [inputUri],
      async () => {
        // As the worker's planJob activity does: from a snapshot (a CopyObject within MinIO), its
        // chunks slices of it where the lines are unchanged (all of them here). With
        // BENCH_S3_PLAN_INPUT=own, the input is the job's own file (`inputs/input.jsonl` is job
        // `inputs`' input.jsonl, where the CLI copies a local file): sliced as it is, no copy.
        const snapshotUri = storage.jobUri('bench', 'r1', 'input-a1.jsonl');
        manifest =
          process.env['BENCH_S3_PLAN_INPUT'] === 'own'
            ? await planJob({ jobId: 'inputs', inputUri, endpoint: ENDPOINT, inputIsJobFile: true }, storage)
            : await planJob({ jobId: 'bench', inputUri, endpoint: ENDPOINT, snapshotUri }, storage);
        return {
          chunks: manifest.chunks.length,
          sliced: manifest.chunks.filter((c) => parseSliceUri(c.uri)).length,
          tokenCounting: manifest.tokenCounting,
        };
      },
      // The floor still writes the input back: what plan did until session 13 (chunk objects).
      () => true,
      // What plan wrote through this process: the chunks that are files (the snapshot is copied by MinIO).
      () => Promise.resolve((manifest?.chunks ?? []).reduce((n, c) => n + (parseSliceUri(c.uri) ? 0 : c.bytes), 0)),
    );
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    break;
  }
  case 'generate-outputs': {
    const manifest = await readJson<JobManifest>('manifest.json');
    const out = path.join(dir, 'output.jsonl');
    const err = path.join(dir, 'errors.jsonl');
    let row0 = 0;
    let bytes = 0;
    for (const chunk of manifest.chunks) {
      const { outputUri, errorUri } = outputUris(chunk.index);
      await writeOutputs(out, err, row0, row0 + chunk.requests);
      bytes += (await put(outputUri, out)) + (await put(errorUri, err));
      row0 += chunk.requests;
    }
    await rm(out);
    await rm(err);
    result = { bytes };
    break;
  }
  case 'reconcile': {
    const manifest = await readJson<JobManifest>('manifest.json');
    const uris = manifest.chunks.flatMap((c) => [c.uri, outputUris(c.index).outputUri, outputUris(c.index).errorUri]);
    let outcomes: ChunkOutcome[] = [];
    result = await measured(
      step,
      () => uris,
      async () => {
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
      },
      // The records carry the output and error rows (the chunk is read, not written back).
      (uri) => !uri.endsWith('/input.jsonl'),
      async () => {
        let bytes = 0;
        for (const o of outcomes) {
          bytes += await storage.size(o.recordsUri);
          if (o.retryUri) bytes += await storage.size(o.retryUri);
        }
        return bytes;
      },
    );
    await writeFile(path.join(dir, 'outcomes.json'), JSON.stringify(outcomes));
    break;
  }
  case 'finalize': {
    const outcomes = await readJson<ChunkOutcome[]>('outcomes.json');
    const recordsUris = outcomes.map((o) => o.recordsUri);
    let written: string[] = [];
    result = await measured(
      step,
      () => recordsUris,
      async () => {
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
        written = [report.resultsUri, report.failuresUri, report.reportUri];
        return { rows: report.rows };
      },
      // The records become results.jsonl.
      () => true,
      async () => {
        let bytes = 0;
        for (const uri of written) bytes += await storage.size(uri);
        return bytes;
      },
    );
    break;
  }
  case 'plan-baseline':
  case 'reconcile-baseline':
  case 'finalize-baseline': {
    // The baseline alone in a fresh process: its peak RSS with nothing left over from a stage.
    let uris = [inputUri];
    if (step === 'reconcile-baseline') {
      const manifest = await readJson<JobManifest>('manifest.json');
      uris = manifest.chunks.flatMap((c) => [c.uri, outputUris(c.index).outputUri, outputUris(c.index).errorUri]);
    } else if (step === 'finalize-baseline') {
      uris = (await readJson<ChunkOutcome[]>('outcomes.json')).map((o) => o.recordsUri);
    }
    const r = await getAndParse(uris);
    result = { ...r, peakRssMb: maxRssMb() };
    break;
  }
  default:
    throw new Error(`unknown step ${step}`);
}
raw.destroy();
storage.destroy();
// Set by the entry (s3-job-stage.ts): whether the worker's young-generation bound applies here.
const youngGenerationBounded = process.env['BENCH_YOUNG_GENERATION_BOUNDED'] === '1';
process.stdout.write(JSON.stringify({ ...(result as object), youngGenerationBounded }) + '\n');
