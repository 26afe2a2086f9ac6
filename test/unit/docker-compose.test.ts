import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadWorkerConfig, WORKER_ENV_VARS } from '../../src/worker-config.ts';
import { searchAttributeCreateCommand } from '../../src/setup/search-attribute-setup.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes.ts';

interface Service {
  image?: string;
  build?: string | { context: string };
  ports?: string[];
  environment?: Record<string, string | number>;
  command?: string[] | string;
  depends_on?: Record<string, unknown> | string[];
}

const root = new URL('../../', import.meta.url);
const compose = parse(await readFile(new URL('docker-compose.yml', root), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

describe('docker-compose.yml (validated here since no Docker engine runs on these machines)', () => {
  it('runs Temporal on Postgres with the official images', () => {
    expect(service('postgresql').image).toMatch(/^postgres:\d+/);
    const temporal = service('temporal');
    expect(temporal.image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(temporal.environment?.['DB']).toBe('postgres12');
    expect(temporal.environment?.['POSTGRES_SEEDS']).toBe('postgresql');
    expect(temporal.ports).toContain('7233:7233');
  });

  it('serves the Temporal UI pointed at the server', () => {
    const ui = service('temporal-ui');
    expect(ui.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(ui.environment?.['TEMPORAL_ADDRESS']).toBe('temporal:7233');
    expect(ui.ports).toContain('8080:8080');
  });

  it("registers exactly the project's search attributes", () => {
    const command = [service('temporal-setup').command ?? ''].flat().join(' ');
    const registered = [...command.matchAll(/--name (\S+) --type (\S+)/g)].map((m) => `${m[1]}=${m[2]}`);
    const cliType = { KEYWORD: 'Keyword', INT: 'Int', KEYWORD_LIST: 'KeywordList' } as Record<string, string>;
    expect(registered).toEqual(SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}=${cliType[k.type]}`));
    // The same command the README gives for any cluster (run there by test/docs on a bare server).
    expect(command.replace(/\s+\|\| true$/, '')).toBe(searchAttributeCreateCommand('default'));
  });

  it('builds the worker from this repository with the variables worker.ts reads', async () => {
    const worker = service('worker');
    expect(worker.build).toBe('.');
    const dockerfile = await readFile(new URL('Dockerfile', root), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24/m);
    expect(dockerfile).toMatch(/CMD \["node", "worker.ts"\]/);
    const env = Object.fromEntries(Object.entries(worker.environment ?? {}).map(([k, v]) => [k, String(v)]));
    // Every variable the compose file sets is one the worker reads, and none it needs is missing.
    for (const name of Object.keys(env)) expect(WORKER_ENV_VARS).toContain(name);
    for (const name of [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'OPENAI_BATCH_TASK_QUEUE',
      'OPENAI_BATCH_STORAGE_ROOT',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'OPENAI_BATCH_PG_URL',
    ]) {
      expect(Object.keys(env)).toContain(name);
    }
    // And the worker's configuration really resolves from them.
    const config = loadWorkerConfig({ ...env, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    expect(config.connection.address).toBe('temporal:7233');
    expect(config.namespace).toBe('default');
    expect(config.taskQueue).toBe('openai-batch');
  });

  it('names every worker variable somewhere in the worker code', async () => {
    const files = (await readdir(new URL('src/', root), { recursive: true }))
      .filter((f) => f.endsWith('.ts') && !f.startsWith('emulator/'))
      .map((f) => `src/${f}`);
    const sources = await Promise.all([...files, 'worker.ts'].map((f) => readFile(new URL(f, root), 'utf8')));
    for (const name of WORKER_ENV_VARS.filter((n) => n.startsWith('OPENAI_'))) {
      expect(sources.join('\n')).toContain(`'${name}'`);
    }
  });
});
