import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { s3PartBytes, s3Settings } from '../../src/storage/s3-client-config.ts';
import { parseS3Root, uriToKey } from '../../src/storage/s3-uri.ts';
import { S3Storage, StorageError } from '../../src/storage/index.ts';

const settings = (root: string, env: NodeJS.ProcessEnv = {}) => s3Settings(parseS3Root(root), env);

describe('S3 client settings', () => {
  it('an endpoint from the root query wins over OPENAI_BATCH_S3_ENDPOINT and gets path-style and us-east-1', () => {
    const env = { OPENAI_BATCH_S3_ENDPOINT: 'http://env-host:9000' };
    const fromQuery = settings('s3://b1b/jobs?endpoint=http://127.0.0.1:9000', env);
    expect(fromQuery.config).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      region: 'us-east-1',
    });
    expect(fromQuery.endpointLabel).toBe('http://127.0.0.1:9000');
    expect(settings('s3://b1b/jobs', env).config.endpoint).toBe('http://env-host:9000');
  });

  it('plain AWS: no endpoint, virtual-hosted addressing, region from the SDK chain', () => {
    const { config, endpointLabel } = settings('s3://b1b/jobs');
    expect(config.endpoint).toBeUndefined();
    expect(config.forcePathStyle).toBe(false);
    expect(config.region).toBeUndefined();
    expect(endpointLabel).toBe('AWS S3');
  });

  it('an endpoint the SDK reads itself (AWS_ENDPOINT_URL_S3) still switches to path-style; pathStyle overrides', () => {
    expect(settings('s3://b1b/x', { AWS_ENDPOINT_URL_S3: 'http://minio:9000' }).config.forcePathStyle).toBe(true);
    expect(
      settings('s3://b1b/x?pathStyle=false', { OPENAI_BATCH_S3_ENDPOINT: 'http://m:9000' }).config.forcePathStyle,
    ).toBe(false);
    expect(settings('s3://b1b/x', { OPENAI_BATCH_S3_PATH_STYLE: 'true' }).config.forcePathStyle).toBe(true);
    expect(() => settings('s3://b1b/x?pathStyle=maybe')).toThrow(/not true or false/);
  });

  it('checksums only where required, unless the user set the SDK variables', () => {
    expect(settings('s3://b1b/x').config).toMatchObject({
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const chosen = settings('s3://b1b/x', {
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_SUPPORTED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_SUPPORTED',
    }).config;
    expect(chosen.requestChecksumCalculation).toBeUndefined();
    expect(chosen.responseChecksumValidation).toBeUndefined();
  });

  it("multipart parts are 5 MiB unless OPENAI_BATCH_S3_PART_MIB asks for more; below S3's 5 MiB is refused", () => {
    expect(s3PartBytes({})).toBe(5 * 1024 * 1024);
    expect(s3PartBytes({ OPENAI_BATCH_S3_PART_MIB: '64' })).toBe(64 * 1024 * 1024);
    expect(s3PartBytes({ OPENAI_BATCH_S3_PART_MIB: '5120' })).toBe(5 * 1024 ** 3);
    for (const bad of ['4', '8.5', 'big', '5121']) {
      expect(() => s3PartBytes({ OPENAI_BATCH_S3_PART_MIB: bad })).toThrow(/OPENAI_BATCH_S3_PART_MIB/);
    }
    expect(() => new S3Storage('s3://b1b/jobs', { env: { OPENAI_BATCH_S3_PART_MIB: '1' } })).toThrow(StorageError);
  });

  it('the root URI callers see has no query; keys stay under the prefix', () => {
    const storage = new S3Storage('s3://b1b/jobs/?endpoint=http://127.0.0.1:9000&region=eu-west-1', { env: {} });
    expect(storage.rootUri).toBe('s3://b1b/jobs');
    expect(storage.jobUri('job-1', 'r1/c0', 'input.jsonl')).toBe('s3://b1b/jobs/job-1/r1/c0/input.jsonl');
    const root = parseS3Root('s3://b1b/jobs');
    expect(uriToKey('job-1/input.jsonl', root)).toBe('jobs/job-1/input.jsonl');
    expect(uriToKey('s3://b1b/jobs/', root)).toBe('jobs');
    expect(() => uriToKey('s3://b1b/jobsother/x', root)).toThrow(/outside the storage root s3:\/\/b1b\/jobs/);
    expect(() => uriToKey('s3://other/jobs/x', root)).toThrow(/in bucket "other"/);
    expect(() => uriToKey('/etc/passwd', root)).toThrow(StorageError);
    expect(uriToKey('s3://b1b/anything', parseS3Root('s3://b1b'))).toBe('anything');
  });
});

describe('payload signing of S3 writes', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is auto unless OPENAI_BATCH_S3_PAYLOAD_SIGNING says signed or unsigned; anything else is refused', () => {
    expect(settings('s3://b1b/x').payloadSigning).toBe('auto');
    expect(settings('s3://b1b/x', { OPENAI_BATCH_S3_PAYLOAD_SIGNING: 'unsigned' }).payloadSigning).toBe('unsigned');
    expect(settings('s3://b1b/x', { OPENAI_BATCH_S3_PAYLOAD_SIGNING: 'signed' }).payloadSigning).toBe('signed');
    expect(() => settings('s3://b1b/x', { OPENAI_BATCH_S3_PAYLOAD_SIGNING: 'off' })).toThrow(
      /OPENAI_BATCH_S3_PAYLOAD_SIGNING "off" is not one of auto, signed, unsigned/,
    );
  });

  async function* oneLine(): AsyncGenerator<string> {
    yield await Promise.resolve('a small body\n');
  }

  // No server listens on the https endpoint: the request Node starts (and the SDK retries) is what
  // is looked at, with the hash header the signer put in it.
  const hashSentOverHttps = async (setting?: string): Promise<string> => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    const hashes: string[] = [];
    const started = (message: unknown): void => {
      const { request } = message as { request: { getHeader(name: string): unknown } };
      hashes.push(String(request.getHeader('x-amz-content-sha256')));
    };
    const env = {
      OPENAI_BATCH_S3_ENDPOINT: 'https://127.0.0.1:1',
      ...(setting ? { OPENAI_BATCH_S3_PAYLOAD_SIGNING: setting } : {}),
    };
    const storage = new S3Storage('s3://b1b/x', { env });
    diagnosticsChannel.subscribe('http.client.request.start', started);
    try {
      await expect(storage.writeAtomic(storage.jobUri('j', 'a.txt'), oneLine())).rejects.toThrow();
    } finally {
      diagnosticsChannel.unsubscribe('http.client.request.start', started);
      storage.destroy();
    }
    expect(hashes.length).toBeGreaterThan(0);
    return hashes[0] as string;
  };

  it('over https, auto sends the body as UNSIGNED-PAYLOAD (TLS guards it); signed hashes it', async () => {
    expect(await hashSentOverHttps()).toBe('UNSIGNED-PAYLOAD');
    expect(await hashSentOverHttps('unsigned')).toBe('UNSIGNED-PAYLOAD');
    expect(await hashSentOverHttps('signed')).toMatch(/^[0-9a-f]{64}$/);
  });
});
