import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseS3Root } from '../../src/storage/s3-uri.ts';
import { s3Settings } from '../../src/storage/s3-client-config.ts';
import { loadWorkerConfig, WORKER_ENV_VARS } from '../../src/worker-config.ts';

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  volumes?: string[];
}

const compose = parse(await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};

describe('docker-compose.yml: the worker on an s3:// root in MinIO', () => {
  const worker = service('worker');
  const env = Object.fromEntries(Object.entries(worker.environment ?? {}).map(([k, v]) => [k, String(v)]));

  it('runs a pinned MinIO with a health check and a setup step that creates the bucket of the root', () => {
    const minio = service('minio');
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T/);
    expect(minio.healthcheck?.test).toBeDefined();
    expect(minio.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    const setup = service('minio-setup');
    expect(setup.depends_on?.['minio']?.condition).toBe('service_healthy');
    const { bucket } = parseS3Root(env['OPENAI_BATCH_STORAGE_ROOT'] ?? '');
    expect([setup.command ?? ''].flat().join(' ')).toContain(`mc mb --ignore-existing local/${bucket}`);
    expect(worker.depends_on?.['minio-setup']?.condition).toBe('service_completed_successfully');
  });

  it('gives the worker the endpoint and the credentials MinIO was started with, through the SDK variables', () => {
    const minio = service('minio').environment ?? {};
    expect(env['OPENAI_BATCH_STORAGE_ROOT']).toBe('s3://openai-batch/jobs');
    expect(env['OPENAI_BATCH_S3_ENDPOINT']).toBe('http://minio:9000');
    expect(env['AWS_ACCESS_KEY_ID']).toBe(minio['MINIO_ROOT_USER']);
    expect(env['AWS_SECRET_ACCESS_KEY']).toBe(minio['MINIO_ROOT_PASSWORD']);
    for (const name of Object.keys(env)) expect(WORKER_ENV_VARS).toContain(name);
    // The root carries no credentials and resolves to a path-style client for the minio service.
    const config = loadWorkerConfig({ ...env, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    const { config: s3 } = s3Settings(parseS3Root(config.storageRoot), env);
    expect(s3).toMatchObject({ endpoint: 'http://minio:9000', forcePathStyle: true, region: 'us-east-1' });
  });
});
