/**
 * Peak RSS of the emulator process during a ~200 MB, 50,000-line upload and during a 50,000-row
 * batch (validation, result writing, and downloading the output), measured from /proc/<pid>/status
 * (VmHWM, reset between phases through /proc/<pid>/clear_refs). The emulator runs as its own
 * process through the CLI, so the client's memory is not counted.
 *
 *   node bench/emulator-rss.ts [--lines 50000] [--line-bytes 4150]
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '50000' }, 'line-bytes': { type: 'string', default: '4150' } },
});
const LINES = Number(values.lines);
const LINE_BYTES = Number(values['line-bytes']);

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function procStatus(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets the kernel's peak-RSS mark, so the next VmHWM covers one phase only. */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Samples VmRSS every 20 ms too, in case clear_refs is not permitted. */
function sampler(pid: number): { stop: () => number } {
  let peak = 0;
  const timer = setInterval(() => {
    procStatus(pid).then(
      (s) => (peak = Math.max(peak, s.rss)),
      () => undefined,
    );
  }, 20);
  return { stop: () => (clearInterval(timer), peak) };
}

async function writeInput(path: string): Promise<number> {
  const out = createWriteStream(path);
  const filler = 'The delivery was late but the product itself works well and support answered quickly. ';
  for (let i = 0; i < LINES; i++) {
    const head = { custom_id: `review-${i}`, method: 'POST', url: '/v1/chat/completions' };
    const base = JSON.stringify({
      ...head,
      body: { model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: '' }] },
    });
    const text = filler
      .repeat(Math.ceil(LINE_BYTES / filler.length))
      .slice(0, Math.max(0, LINE_BYTES - base.length - 1));
    const line = JSON.stringify({
      ...head,
      body: { model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: text }] },
    });
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return (await stat(path)).size;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'emulator-bench-'));
  const input = join(dir, 'input.jsonl');
  const bytes = await writeInput(input);
  console.log(`input: ${LINES} lines, ${bytes.toLocaleString('en-US')} bytes (${mb(bytes)})`);
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ rowsPerSecond: 'instant', validatingSeconds: 0, finalizingSeconds: 0 }));

  const child = spawn(
    process.execPath,
    ['bin/openai-batch.js', 'emulator', '--port', '0', '--state-dir', join(dir, 'state'), '--config', config],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let baseURL = '';
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /^listening on (\S+)$/.exec(line);
    if (match) {
      baseURL = match[1]!;
      break;
    }
  }
  const pid = child.pid!;
  try {
    const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0, timeout: 30 * 60_000 });
    const idle = await procStatus(pid);
    console.log(`emulator idle: RSS ${mb(idle.rss)}`);

    await resetPeak(pid);
    let s = sampler(pid);
    let started = Date.now();
    const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
    const upload = { ...(await procStatus(pid)), sampled: s.stop(), ms: Date.now() - started };
    console.log(
      `upload of ${mb(file.bytes)}: ${upload.ms} ms; ` +
        `peak RSS (VmHWM) ${mb(upload.hwm)}, sampled peak ${mb(upload.sampled)}`,
    );

    await resetPeak(pid);
    s = sampler(pid);
    started = Date.now();
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    let batch = created;
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
      await new Promise((r) => setTimeout(r, 250));
      batch = await client.batches.retrieve(created.id);
    }
    const batchMs = Date.now() - started;
    if (batch.status !== 'completed') throw new Error(`batch ended ${batch.status}: ${JSON.stringify(batch.errors)}`);
    const response = await client.files.content(batch.output_file_id!);
    let outBytes = 0;
    await pipeline(Readable.fromWeb(response.body!), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) outBytes += chunk.length;
      yield* [];
    });
    const run = { ...(await procStatus(pid)), sampled: s.stop() };
    console.log(
      `batch of ${batch.request_counts?.total} rows: completed in ${batchMs} ms, output ${mb(outBytes)} downloaded; ` +
        `peak RSS (VmHWM) ${mb(run.hwm)}, sampled peak ${mb(run.sampled)}`,
    );
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
