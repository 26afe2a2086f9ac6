import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reviewPipeline } from '../../examples/nightly-enrichment.ts';
import { connect, resolveConnection } from '../../src/pipeline/connection.ts';
import { checkSink } from '../../src/pipeline/pg-sink.ts';
import { loadPipelineFile } from '../../src/pipeline/pipeline-file.ts';
import { ensureRunsTable } from '../../src/pipeline/runs-table.ts';
import { WORKER_ENV_VARS } from '../../src/worker-config.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from '../support/postgres.ts';

interface Service {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
}

const compose = parse(await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};
/** What `docker compose` makes of a value with no variables set: `${X:-default}` -> default, `$$` -> `$`. */
const interpolate = (v: string | number): string =>
  String(v)
    .replace(/\$\{\w+:-([^}]*)\}/g, '$1')
    .replace(/\$\$/g, '$');
const envOf = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));

// The setup service's script and the worker's OPENAI_BATCH_PG_URL, run for real against a
// throwaway Postgres (Debian's server and psql) in place of the compose file's postgresql service.
describe("docker-compose.yml: the enrichment example's database next to Temporal's", () => {
  const setup = service('reviews-db-setup');
  const worker = service('worker');
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Runs the setup service's command as its entrypoint would, its PG* variables pointed at the test server. */
  async function runSetup(): Promise<void> {
    // The schema file the service mounts, read from the checkout as compose would mount it.
    let script = interpolate(setup.command?.[0] ?? '');
    for (const [host, container] of schemaMounts())
      script = script.replaceAll(container, fileURLToPath(new URL(`../../${host}`, import.meta.url)));
    const bin = await findPostgresBin();
    await promisify(execFile)('/bin/sh', ['-c', script], {
      env: {
        ...envOf(setup),
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: server.user,
        PGPASSWORD: server.password,
      },
    });
  }

  /** `[host path, container path]` of each file the setup service mounts. */
  const schemaMounts = (): [string, string][] =>
    (setup.volumes ?? []).map((v) => {
      const [host, container] = v.split(':');
      return [(host ?? '').replace(/^\.\//, ''), container ?? ''];
    });

  it('creates its table from examples/nightly-reviews/schema.sql, mounted read-only', () => {
    expect(setup.volumes).toEqual(['./examples/nightly-reviews/schema.sql:/nightly-reviews/schema.sql:ro']);
    expect(setup.command?.[0]).toContain('\\i /nightly-reviews/schema.sql');
  });

  it('is a one-shot setup on the same Postgres server (and image) as Temporal, which the worker waits for', () => {
    expect(setup.image).toBe(service('postgresql').image);
    expect(setup.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(setup.depends_on?.['postgresql']?.condition).toBe('service_healthy');
    expect(envOf(setup)['PGHOST']).toBe('postgresql');
    expect(worker.depends_on?.['reviews-db-setup']?.condition).toBe('service_completed_successfully');
  });

  it("creates a database the worker's OPENAI_BATCH_PG_URL reaches, with the table the example pipeline reads and writes, and runs again harmlessly", async () => {
    await runSetup();
    await runSetup(); // a restart of the stack runs it again
    const env = envOf(worker);
    expect(WORKER_ENV_VARS).toContain('OPENAI_BATCH_PG_URL');
    const url = new URL(env['OPENAI_BATCH_PG_URL'] ?? '');
    expect(url.host).toBe('postgresql:5432');
    expect(url.pathname).toBe('/reviews');
    url.host = `127.0.0.1:${server.port}`;
    const pipeline = reviewPipeline();
    const config = resolveConnection(pipeline.connection, {}, { OPENAI_BATCH_PG_URL: url.href });
    const client = await connect(config, pipeline.connection);
    try {
      const { rows } = await client.query<{ db: string; who: string }>(
        'SELECT current_database() AS db, current_user AS who',
      );
      expect(rows[0]).toEqual({ db: 'reviews', who: 'reviews' });
      // The example's source query, sink mapping and runs table all fit what the setup created.
      await client.query(
        `INSERT INTO reviews (id, product, rating, body, created_at) VALUES (1, 'headphones', 2, 'squeaks', now() - interval '1 hour')`,
      );
      const picked = await client.query(pipeline.source.query, [...(pipeline.source.params ?? [])]);
      expect(picked.rows).toEqual([{ id: '1', product: 'headphones', body: 'squeaks' }]);
      await checkSink(client, pipeline.sink);
      await ensureRunsTable(client, pipeline.sink.runsTable ?? 'openai_batch_runs');
      // The example's pipeline file reads and writes the same table.
      const file = await loadPipelineFile(
        fileURLToPath(new URL('../../examples/nightly-reviews/pipeline.yaml', import.meta.url)),
      );
      const fromFile = await client.query(file.source.query, [...(file.source.params ?? [])]);
      expect(fromFile.rows).toEqual([{ id: '1', product: 'headphones', rating: 2, body: 'squeaks' }]);
      await checkSink(client, file.sink);
    } finally {
      await client.end();
    }
  });
});
