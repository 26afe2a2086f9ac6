/**
 * The Postgres ends of the enrichment pipeline on 1,000,000 rows, against a real server (Debian's
 * binaries, started for the run by test/support/postgres.ts): `export` (src/pipeline/pg-source.ts,
 * rows -> request JSONL) against `COPY (the same query) TO STDOUT` into a file, and `import`
 * (src/pipeline/pg-sink.ts, results.jsonl -> staging table -> one UPDATE) against `COPY` of the same
 * results (already in COPY text form) into a temporary table like the staging one (no WAL), and
 * `copy-from-logged` the same into a logged table (WAL written, as the UPDATE writes), through the same client
 * (`pg`, `pg-copy-streams`) in the same run. Each phase runs in a fresh process
 * (`pg-enrich-stage.ts`) and reports its maxRSS (the server's memory is not counted); each
 * yardstick runs before and after its phase and the faster run counts.
 *
 *   npm run bench -- pg-enrich          (BENCH_PG_ROWS=1000000 by default)
 *   BENCH_PG_PHASES=export (or import, idle; comma-separated) runs only those phases and their yardsticks.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres.ts';
import { BENCH_TABLE } from './pg-enrich-shape.ts';

const stage = fileURLToPath(new URL('./pg-enrich-stage.ts', import.meta.url));
const TOPICS = ['shipping', 'price', 'quality', 'support', 'sizing'];
const SENTIMENTS = ['positive', 'neutral', 'negative'];

/** results.jsonl as the job writes it (1 row in 100 failed) and the same rows as staging COPY text. */
export async function writeResults(dir: string, rows: number): Promise<void> {
  const results = createWriteStream(join(dir, 'results.jsonl'));
  const staging = createWriteStream(join(dir, 'staging.tsv'));
  let a = '';
  let b = '';
  for (let id = 1; id <= rows; id++) {
    const ok = id % 100 !== 0;
    const batch = `batch_${(id % 20).toString().padStart(6, '0')}`;
    const answer = JSON.stringify({ sentiment: SENTIMENTS[id % 3], topic: TOPICS[id % 5], urgency: (id % 5) + 1 });
    const usage = { input: 120, cachedInput: 0, output: 18, reasoning: 0 };
    const error = ok ? null : { code: 'rate_limit_exceeded', message: 'Rate limit reached for requests' };
    const head = { custom_id: String(id), status: ok ? 'succeeded' : 'failed', attempts: 1, batch_ids: [batch] };
    const line = { ...head, round: 1, error, usage: ok ? usage : null };
    const response = ok
      ? {
          id: `chatcmpl-${id}`,
          object: 'chat.completion',
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 120, completion_tokens: 18, total_tokens: 138 },
        }
      : null;
    a += JSON.stringify({ ...line, response }) + '\n';
    const esc = (s: string) => s.replace(/\\/g, '\\\\');
    b +=
      [
        String(id),
        head.status,
        ok ? esc(answer) : '\\N',
        ok ? '\\N' : esc(JSON.stringify(error)),
        'gpt-4o-mini',
        ok ? '138' : '\\N',
        batch,
      ].join('\t') + '\n';
    if (a.length > 1 << 20) {
      const wa = results.write(a);
      const wb = staging.write(b);
      a = b = '';
      // Both listeners at once: awaiting one first could miss the other's 'drain'.
      await Promise.all([wa || once(results, 'drain'), wb || once(staging, 'drain')]);
    }
  }
  results.end(a);
  staging.end(b);
  await Promise.all([once(results, 'finish'), once(staging, 'finish')]);
}

interface StageResult {
  phase: string;
  rows: number;
  bytes: number;
  ms: number;
  cpuMs: number;
  peakRssMb: number;
}

export async function run(): Promise<void> {
  const rows = Number(process.env['BENCH_PG_ROWS'] ?? 1_000_000);
  const dir = await mkdtemp(join(tmpdir(), 'bench-pg-'));
  const server = await startPostgres();
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(BENCH_TABLE);
    // ~250-character reviews, each different.
    await client.query(
      `INSERT INTO reviews (id, body)
         SELECT i, 'Order ' || i || ': ' || md5(i::text) || ' arrived two days late, the box was dented but the '
           || 'headphones work well; the left ear cushion squeaks a little. Support answered within an hour. '
           || md5((i * 7)::text)
         FROM generate_series(1, $1::bigint) i`,
      [rows],
    );
    await client.query('VACUUM ANALYZE reviews');
    await client.end();
    await writeResults(dir, rows);
    const results: StageResult[] = [];
    const only = process.env['BENCH_PG_PHASES']?.split(',');
    const phases = [
      ['idle'],
      ['copy-to', 'export', 'copy-to'],
      ['copy-from', 'copy-from-logged', 'import', 'copy-from', 'copy-from-logged'],
      ['upsert', 'copy-from', 'copy-from-logged'],
    ].filter((group) => !only || group.some((p) => only.includes(p)));
    for (const phase of phases.flat()) {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [...process.execArgv, stage, phase, dir], {
        env: { ...process.env, BENCH_PG_URL: server.url },
        maxBuffer: 1 << 24,
      });
      if (stderr) process.stderr.write(`[${phase}] ${stderr}`);
      results.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as StageResult);
    }
    console.log(`${rows} rows, Postgres on the same machine (fsync off), Node ${process.version}`);
    console.log('| phase | rows | MB | seconds | CPU s | rows/s | peak RSS (MB) |\n|---|---|---|---|---|---|---|');
    for (const r of results) {
      const idle = r.phase === 'idle';
      const secs = idle ? '-' : (r.ms / 1000).toFixed(2);
      const cpu = idle ? '-' : (r.cpuMs / 1000).toFixed(2);
      const rate = idle ? '-' : Math.round(r.rows / (r.ms / 1000)).toString();
      console.log(
        `| ${r.phase} | ${r.rows} | ${(r.bytes / 1e6).toFixed(0)} | ${secs} | ${cpu} | ${rate} | ${r.peakRssMb.toFixed(0)} |`,
      );
    }
    for (const [phase, yardstick] of [
      ['export', 'copy-to'],
      ['import', 'copy-from'],
      ['import', 'copy-from-logged'],
      ['upsert', 'copy-from'],
      ['upsert', 'copy-from-logged'],
    ] as const) {
      const measured = results.find((r) => r.phase === phase);
      const base = results.filter((r) => r.phase === yardstick);
      if (!measured || base.length === 0) continue;
      // The import and the upsert write the succeeded rows only (the failed rows keep their values).
      const expected = phase === 'export' ? rows : rows - Math.floor(rows / 100);
      if (measured.rows !== expected) throw new Error(`${phase} moved ${measured.rows} rows, expected ${expected}`);
      const best = (f: (r: StageResult) => number): number => Math.min(...base.map(f));
      console.log(
        `${phase} vs ${yardstick} (faster run): ${(best((r) => r.ms) / measured.ms).toFixed(2)}x wall, ` +
          `${(best((r) => r.cpuMs) / measured.cpuMs).toFixed(2)}x CPU (client process), peak RSS ${measured.peakRssMb.toFixed(0)} MB`,
      );
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
