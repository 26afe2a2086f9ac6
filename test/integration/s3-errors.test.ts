// What a user sees when the S3 settings are wrong: one line naming the bucket or endpoint and the
// fix, as a StorageError (not retried), except an unreachable endpoint, which may come back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, S3Storage, StorageError, storageProblem } from '../../src/storage/index.ts';
import { freePort } from '../../src/tools/devserver/free-port.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/run-cli.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';
import { connectToDevServer, devServer } from '../support/temporal.ts';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3('errors');
});
afterAll(async () => {
  await s3?.close();
});

async function* one(text: string): AsyncGenerator<string> {
  yield await Promise.resolve(text);
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!outcome) throw new Error('expected the call to fail');
  return outcome;
}

/** Runs `fn` with some environment variables changed, then puts them back. */
async function withEnv<T>(changes: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(changes);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe('S3 storage errors', () => {
  it('a missing bucket: a StorageError naming the bucket and how to create it', async () => {
    const storage = openStorage('s3://no-such-bucket-here/jobs');
    const err = await failure(storage.writeAtomic(storage.jobUri('j', 'input.jsonl'), one('x')));
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/bucket "no-such-bucket-here" does not exist at http:\/\/127\.0\.0\.1:\d+; create it/);
    expect(err.message.split('\n')).toHaveLength(1);
    await expect(storage.list(storage.rootUri)).rejects.toBeInstanceOf(StorageError);
  });

  it('refused credentials: a StorageError naming the bucket and the credential chain, never the keys', async () => {
    const wrongSecret = 'wrong-secret-0123456789abcdef';
    const err = await withEnv({ AWS_SECRET_ACCESS_KEY: wrongSecret }, async () => {
      const storage = new S3Storage(s3.root('jobs'));
      return await failure(storage.openRead(storage.jobUri('j', 'input.jsonl')));
    });
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain(`access to bucket "${s3.bucket}"`);
    expect(err.message).toMatch(/SignatureDoesNotMatch/);
    expect(err.message).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(err.message).not.toContain(wrongSecret);
    expect(err.message).not.toContain(s3.server.accessKeyId);
    expect(err.cause).toBeUndefined();
  });

  it('no credentials anywhere: a StorageError that says where the SDK looks', async () => {
    const err = await withEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, async () => {
      const storage = new S3Storage(s3.root('jobs'));
      return await failure(storage.exists(storage.jobUri('j', 'input.jsonl')));
    });
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/no AWS credentials were found for s3:\/\/.*; check the credentials/);
  });

  it('a wrong endpoint: a retryable error (not a StorageError) that names the endpoint and the setting', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const storage = new S3Storage(`${s3.root('jobs')}?endpoint=${endpoint}`);
    const err = await failure(storage.size(storage.jobUri('j', 'input.jsonl')));
    expect(err).not.toBeInstanceOf(StorageError);
    expect(err.message).toContain(`S3 endpoint ${endpoint} is unreachable (ECONNREFUSED`);
    expect(err.message).toContain('OPENAI_BATCH_S3_ENDPOINT');
    // What a log or the CLI prints (the stack's first line) says the same.
    expect(err.stack?.split('\n')[0]).toContain(`S3 endpoint ${endpoint} is unreachable`);
    expect(storageProblem(err)).toBe(err.message);
    expect(storageProblem(new Error('anything else'))).toBeUndefined();
  });

  it('a region the server does not serve: a StorageError that names the region setting', async () => {
    const storage = new S3Storage(`${s3.root('jobs')}?region=eu-central-1`);
    const err = await failure(storage.writeAtomic(storage.jobUri('j', 'input.jsonl'), one('x')));
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain(`bucket "${s3.bucket}"`);
    expect(err.message).toMatch(/AWS_REGION/);
  });

  it('a root with credentials, an unknown setting or a bad bucket name is refused before any request', () => {
    const withKeys = (() => {
      try {
        openStorage('s3://AKIDEXAMPLE:hunter2@bucket/jobs');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(withKeys).toBeInstanceOf(StorageError);
    expect(withKeys?.message).not.toContain('hunter2');
    expect(withKeys?.message).not.toContain('AKIDEXAMPLE');
    expect(() => openStorage('s3://bucket/jobs?secretAccessKey=x')).toThrow(/unknown setting "secretAccessKey"/);
    expect(() => openStorage('s3://Bad_Bucket/jobs')).toThrow(/not a valid bucket name/);
    expect(() => openStorage('s3://bucket/jobs?endpoint=ftp://host')).toThrow(/not an http\(s\) URL/);
    expect(() => openStorage('gs://bucket/jobs')).toThrow(/unsupported scheme/);
  });

  it('submit with a missing bucket or refused credentials: one line, exit 2, and no job started', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-submit-'));
    const conn = await connectToDevServer();
    try {
      const input = join(dir, 'requests.jsonl');
      const line = { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } };
      await writeFile(input, JSON.stringify(line) + '\n');
      const cases = [
        { root: 's3://no-such-bucket-here/jobs', env: {}, expected: /bucket "no-such-bucket-here" does not exist/ },
        {
          root: s3.root('jobs'),
          env: { AWS_SECRET_ACCESS_KEY: 'wrong' },
          expected: /was refused \(SignatureDoesNotMatch\)/,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const jobId = `s3-submit-${i}-${Date.now()}`;
        const out = await runCli(['submit', input, '--storage-root', c.root, '--job-id', jobId], {
          cwd: dir,
          env: {
            ...s3.env,
            ...c.env,
            TEMPORAL_ADDRESS: devServer().address,
            TEMPORAL_NAMESPACE: devServer().namespace,
          },
        });
        expect(out.code, out.stderr).toBe(2);
        expect(out.stderr).toMatch(c.expected);
        expect(out.stderr.trim().split('\n')).toHaveLength(1);
        const started = await conn.client.workflow
          .getHandle(jobId)
          .describe()
          .then(
            () => true,
            () => false,
          );
        expect(started).toBe(false);
      }
    } finally {
      await conn.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
