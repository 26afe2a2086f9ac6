// docker-compose.yml runs Prometheus (scraping the worker's metrics endpoint, with the alert rules)
// and Grafana (the dashboard provisioned). Validated here: no Docker engine runs on these machines.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusTelemetry } from '../../src/metrics/telemetry.ts';
import { loadWorkerConfig } from '../../src/worker-config.ts';

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, unknown>;
}

const root = new URL('../../', import.meta.url);
const yamlAt = async <T>(path: string): Promise<T> => parse(await readFile(new URL(path, root), 'utf8')) as T;
const compose = await yamlAt<{ services: Record<string, Service>; volumes: Record<string, unknown> }>(
  'docker-compose.yml',
);
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};

/** `host path -> container path` of a service's bind mounts (named volumes left out). */
function binds(s: Service): Map<string, string> {
  return new Map(
    (s.volumes ?? [])
      .filter((v) => v.startsWith('./'))
      .map((v) => {
        const [host, container] = v.split(':');
        return [container!, host!];
      }),
  );
}

describe('docker-compose.yml: Prometheus and Grafana for the worker metrics', () => {
  it('the worker serves its metrics on an address Prometheus scrapes', async () => {
    const env = service('worker').environment ?? {};
    const config = loadWorkerConfig({ ...env, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    expect(config.metricsAddress).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(() => prometheusTelemetry(config.metricsAddress!)).not.toThrow();
    const port = config.metricsAddress!.split(':')[1];
    const scrape = await yamlAt<{
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    }>('deploy/prometheus/prometheus.yml');
    const targets = scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets).toEqual([`worker:${port}`]);
    // The rule file Prometheus loads is the one the repository keeps (and the dashboard test checks).
    const prometheus = service('prometheus');
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    const mounts = binds(prometheus);
    expect(mounts.get('/etc/prometheus/prometheus.yml')).toBe('./deploy/prometheus/prometheus.yml');
    for (const rules of scrape.rule_files) expect(mounts.get(rules)).toBe('./deploy/prometheus/alerts.yml');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(prometheus.ports).toContain('9090:9090');
  });

  it('Grafana reads Prometheus and provisions the dashboard from the repository', async () => {
    const grafana = service('grafana');
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const mounts = binds(grafana);
    const provisioning = mounts.get('/etc/grafana/provisioning');
    expect(provisioning).toBe('./deploy/grafana/provisioning');
    const datasources = await yamlAt<{ datasources: { type: string; url: string }[] }>(
      `${provisioning}/datasources/prometheus.yml`,
    );
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const providers = await yamlAt<{ providers: { type: string; options: { path: string } }[] }>(
      `${provisioning}/dashboards/openai-batch.yml`,
    );
    const dashboards = mounts.get(providers.providers[0]!.options.path);
    expect(dashboards).toBe('./deploy/grafana/dashboards');
    expect(existsSync(new URL(`${dashboards}/openai-batch.json`, root))).toBe(true);
    // No literal admin password: the local default is overridable from the environment.
    expect(grafana.environment?.['GF_SECURITY_ADMIN_PASSWORD']).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:-/);
  });

  it('every bind mount exists in the repository and the data volumes are declared', () => {
    for (const name of ['prometheus', 'grafana']) {
      for (const host of binds(service(name)).values()) expect(existsSync(new URL(host, root)), host).toBe(true);
      for (const v of service(name).volumes ?? [])
        if (!v.startsWith('./')) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
  });
});
