import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { importIntoSink } from '../src/pipeline/pg-sink.ts';
import { exportRows } from '../src/pipeline/pg-source.ts';
import { FileStorage } from '../src/storage/index.ts';
import {
  BENCH_LABELS_TABLE,
  BENCH_SINK,
  BENCH_SOURCE,
  BENCH_TEMPLATE,
  BENCH_UPSERT_SINK,
  STAGING_COLUMNS,
} from './pg-enrich-shape.ts';

/**
 * One phase of `pg-enrich.bench.ts` in its own process, so that its peak RSS (maxRSS, process start
 * and modules included) is its own: `node bench/pg-enrich-stage.ts <phase> <dir>`, the server's URL
 * in BENCH_PG_URL. `idle` connects and moves nothing (the floor). `copy-to` is the export's
 * yardstick: `COPY (the source query) TO STDOUT` through the same client into a file in <dir>;
 * `export` is `exportRows` of the same query into request JSONL under <dir>. `copy-from` is the
 * import's yardstick: `COPY` of the staging rows (<dir>/staging.tsv, the same data as
 * results.jsonl, already in COPY text form) into a temporary table like the import's staging table,
 * committed; `copy-from-logged` the same COPY into a logged table (WAL written); `import` is `importIntoSink` of <dir>/results.jsonl, committed (UPDATE of `reviews`);
 * `upsert` the same in upsert mode into an empty `review_labels` table (INSERT ... ON CONFLICT).
 * Prints one JSON line.
 */
const [phase, dir] = process.argv.slice(2);
if (!phase || !dir) throw new Error('usage: pg-enrich-stage.ts <phase> <dir>');
const storage = new FileStorage(dir);
const client = new pg.Client({ connectionString: process.env['BENCH_PG_URL'] ?? '' });
await client.connect();

/** Counts the bytes and lines that pass. */
function counter(): Transform & { bytes: number; lines: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      t.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) t.lines++;
      done(null, chunk);
    },
  }) as Transform & { bytes: number; lines: number };
  t.bytes = 0;
  t.lines = 0;
  return t;
}

// BENCH_PG_TRACE=1: each statement's text and wall time on stderr (where the import's time goes).
if (process.env['BENCH_PG_TRACE'] === '1') {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const t0 = performance.now();
    const out = query(...args);
    const text = typeof args[0] === 'string' ? args[0] : '(a cursor or COPY stream)';
    const report = () =>
      console.error(`${(performance.now() - t0).toFixed(0)} ms  ${text.replace(/\s+/g, ' ').slice(0, 90)}`);
    if (out instanceof Promise) void out.then(report, () => undefined);
    else (out as NodeJS.EventEmitter).once('finish', report).once('end', report);
    return out;
  };
}

// BENCH_PG_EXPLAIN=1: each UPDATE/INSERT of the sink is first run under EXPLAIN (ANALYZE, BUFFERS,
// WAL) in a savepoint that is rolled back, its plan printed on stderr, then run for real (where the
// server's time goes; the phase's own time then includes both runs).
if (process.env['BENCH_PG_EXPLAIN'] === '1') {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const text = args[0];
    if (typeof text !== 'string' || !/^\s*(UPDATE|INSERT INTO|WITH u AS)/.test(text)) return query(...args);
    return (async () => {
      await query('SAVEPOINT bench_explain');
      const plan = (await query(`EXPLAIN (ANALYZE, BUFFERS, WAL) ${text}`, ...args.slice(1))) as {
        rows: { 'QUERY PLAN': string }[];
      };
      console.error(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
      await query('ROLLBACK TO SAVEPOINT bench_explain');
      return await query(...args);
    })();
  };
}

const phases: Record<string, () => Promise<{ rows: number; bytes: number }>> = {
  idle: () => Promise.resolve({ rows: 0, bytes: 0 }),
  'copy-to': async () => {
    const count = counter();
    await pipeline(
      client.query(copyTo(`COPY (${BENCH_SOURCE.query}) TO STDOUT`)),
      count,
      createWriteStream(`${dir}/copy-out.tsv`),
    );
    return { rows: count.lines, bytes: count.bytes };
  },
  export: async () => {
    const out = await exportRows(client, storage, {
      runId: 'bench',
      source: BENCH_SOURCE,
      template: BENCH_TEMPLATE,
    });
    if (out.rejected.count > 0) throw new Error(`export rejected ${out.rejected.count} rows: ${JSON.stringify(out)}`);
    return { rows: out.requests, bytes: (await stat(`${dir}/bench/export/requests.jsonl`)).size };
  },
  'copy-from': async () => {
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE bench_copy_in (${STAGING_COLUMNS}) ON COMMIT DROP`);
    const count = counter();
    await pipeline(
      createReadStream(`${dir}/staging.tsv`),
      count,
      client.query(copyFrom('COPY bench_copy_in FROM STDIN')),
    );
    await client.query('COMMIT');
    return { rows: count.lines, bytes: count.bytes };
  },
  // The same COPY into a logged table (WAL written, as the import's UPDATE of the user's table is),
  // committed; dropped afterwards, outside the measured time.
  'copy-from-logged': async () => {
    await client.query('DROP TABLE IF EXISTS bench_copy_logged');
    await client.query('BEGIN');
    await client.query(`CREATE TABLE bench_copy_logged (${STAGING_COLUMNS})`);
    const count = counter();
    await pipeline(
      createReadStream(`${dir}/staging.tsv`),
      count,
      client.query(copyFrom('COPY bench_copy_logged FROM STDIN')),
    );
    await client.query('COMMIT');
    return { rows: count.lines, bytes: count.bytes };
  },
  import: () => importPhase(BENCH_SINK),
  upsert: async () => {
    await client.query('DROP TABLE IF EXISTS review_labels');
    await client.query(BENCH_LABELS_TABLE);
    return await importPhase(BENCH_UPSERT_SINK);
  },
};

async function importPhase(sink: typeof BENCH_SINK): Promise<{ rows: number; bytes: number }> {
  await client.query('BEGIN');
  const out = await importIntoSink(client, storage, {
    sink,
    resultsUri: storage.jobUri('results.jsonl'),
    endpoint: '/v1/chat/completions',
    model: BENCH_TEMPLATE.model,
  });
  await client.query('COMMIT');
  if (out.unmatched > 0) throw new Error(`import: ${out.unmatched} results matched no row`);
  return { rows: out.rowsUpdated, bytes: (await stat(`${dir}/results.jsonl`)).size };
}
const work = phases[phase];
if (!work) throw new Error(`unknown phase ${phase}; one of ${Object.keys(phases).join(', ')}`);
// BENCH_PG_MEM=1: the maxima of process.memoryUsage(), sampled every 50 ms, on stderr (what RSS is made of).
const maxima: Record<string, number> = {};
const sampler =
  process.env['BENCH_PG_MEM'] === '1'
    ? setInterval(() => {
        for (const [k, v] of Object.entries(process.memoryUsage()) as [string, number][])
          maxima[k] = Math.max(maxima[k] ?? 0, v);
      }, 50)
    : undefined;
const cpu0 = process.cpuUsage();
const started = performance.now();
const { rows, bytes } = await work();
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
if (sampler) {
  clearInterval(sampler);
  const mb = Object.entries(maxima).map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)} MB`);
  console.error(`memoryUsage maxima: ${mb.join(', ')}`);
}
if (phase === 'copy-from-logged') await client.query('DROP TABLE bench_copy_logged');
await client.end();
console.log(JSON.stringify({ phase, rows, bytes, ms, cpuMs, peakRssMb }));
