/**
 * Upload and download of one 190 MiB chunk file through the S3 backend (`writeAtomic`, `openRead`)
 * against a real MinIO server, beside a raw `PutObject` / `GetObject` of the same bytes from the
 * same file to the same server in the same run. Each phase runs in a fresh process
 * (`s3-transfer-stage.ts`) and reports that process's peak RSS, so that the figure shows whether
 * memory stays bounded by part size x queue size rather than growing with the file; `idle` is the
 * floor (Node, the SDK, no transfer).
 *
 * Then the plan stage of a 200,000-request job (~216 MB, the plan-reconcile bench's requests) read
 * from MinIO, against a raw GetObject of the same object with every line JSON.parsed.
 *
 *   npm run bench -- s3-transfer        (BENCH_S3_MIB=190, BENCH_S3_REQUESTS=200000 by default)
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestS3 } from '../test/support/s3-server.ts';
import { writeRequests } from './generate-job.ts';

const MiB = 1 << 20;
const stage = fileURLToPath(new URL('./s3-transfer-stage.ts', import.meta.url));

/** A chunk-like JSONL file of `bytes` bytes (chat requests of ~1 KiB each). */
async function makeFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  let written = 0;
  for (let i = 0; written < bytes; i++) {
    const content = `Classify review ${i}: ${'good value, fast shipping. '.repeat(33)}`;
    const line =
      JSON.stringify({
        custom_id: `req-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
      }) + '\n';
    const piece = line.slice(0, bytes - written);
    written += Buffer.byteLength(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface StageResult {
  phase: string;
  bytes: number;
  ms: number;
  cpuMs: number;
  peakRssMb: number;
}

export async function run(): Promise<void> {
  const bytes = Number(process.env['BENCH_S3_MIB'] ?? 190) * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'bench-s3-'));
  const s3 = await startTestS3('bench');
  try {
    const file = join(dir, 'input.jsonl');
    await makeFile(file, bytes);
    const root = s3.root('bench');
    const requests = join(dir, 'requests.jsonl');
    await writeRequests(requests, Number(process.env['BENCH_S3_REQUESTS'] ?? 200_000));
    const results: StageResult[] = [];
    const phases: [string, string][] = [
      ['idle', file],
      ['raw-put', file],
      ['write-atomic', file],
      ['raw-get', file],
      ['open-read', file],
      ['open-read-lines', file],
      ['open-read-joined-lines', file],
      ['open-read-lines', file],
      ['open-read-joined-lines', file],
      ['put-requests', requests],
      ['get-parse', requests],
      ['plan', requests],
      ['get-parse', requests],
    ];
    for (const [phase, input] of phases) {
      const { stdout } = await promisify(execFile)(process.execPath, [stage, phase, input, root], {
        env: { ...process.env, ...s3.env },
        maxBuffer: 1 << 24,
      });
      results.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as StageResult);
    }
    console.log(`${(bytes / MiB).toFixed(0)} MiB through MinIO (single node, local disk), Node ${process.version}`);
    console.log('| phase | MB | seconds | CPU s | MiB/s | peak RSS (MB) |\n|---|---|---|---|---|---|');
    for (const r of results) {
      const idle = r.phase === 'idle';
      const rate = idle ? '-' : (r.bytes / MiB / (r.ms / 1000)).toFixed(0);
      const secs = idle ? '-' : (r.ms / 1000).toFixed(2);
      const cpu = idle ? '-' : (r.cpuMs / 1000).toFixed(2);
      console.log(
        `| ${r.phase} | ${(r.bytes / 1e6).toFixed(0)} | ${secs} | ${cpu} | ${rate} | ${r.peakRssMb.toFixed(0)} |`,
      );
    }
    const plan = results.find((r) => r.phase === 'plan');
    const yardstick = results.filter((r) => r.phase === 'get-parse');
    if (plan && yardstick.length > 0) {
      const best = (f: (r: StageResult) => number): number => Math.min(...yardstick.map(f));
      const wall = best((r) => r.ms) / plan.ms;
      const cpuRatio = best((r) => r.cpuMs) / plan.cpuMs;
      console.log(`plan vs GET + JSON.parse (faster run): ${wall.toFixed(2)}x wall, ${cpuRatio.toFixed(2)}x CPU`);
    }
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
}
