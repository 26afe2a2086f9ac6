// A real MinIO server for the test files that need S3 (started per file, so that the rest of the
// suite never waits for it), with a fresh bucket and the SDK environment pointed at it.
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startS3Server, type S3Server } from '../../src/tools/devserver/start-s3-server.ts';

export interface TestS3 {
  readonly server: S3Server;
  readonly bucket: string;
  /** `s3://<bucket>/<prefix>`: no query, as a worker configured through the environment sees it. */
  root(prefix?: string): string;
  /** What a worker process needs to reach the server: endpoint and credentials, never in a URI. */
  readonly env: Readonly<Record<string, string>>;
  /** A client with the server's credentials, for looking behind the storage layer. */
  readonly admin: S3Client;
  /** Multipart uploads started and neither completed nor aborted under a prefix. */
  pendingUploads(prefix?: string): Promise<string[]>;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts MinIO, creates one bucket and sets this process's environment the way a user would
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, OPENAI_BATCH_S3_ENDPOINT); nothing reaches IMDS or a
 * shared profile.
 */
export async function startTestS3(name: string): Promise<TestS3> {
  const server = await startS3Server({ onProgress: (line) => console.log(`[s3] ${line}`) });
  const env = {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    OPENAI_BATCH_S3_ENDPOINT: server.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
  Object.assign(process.env, env);
  const admin = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const bucket = `${name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const createBucket = async (b: string): Promise<void> => {
    await admin.send(new CreateBucketCommand({ Bucket: b }));
  };
  await createBucket(bucket);
  return {
    server,
    bucket,
    root: (prefix = '') => `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
    env,
    admin,
    async pendingUploads(prefix) {
      // MinIO matches Prefix only as a whole key here: list all and filter.
      const out = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (out.Uploads ?? []).map((u) => u.Key ?? '').filter((k) => k.startsWith(prefix ?? ''));
    },
    createBucket,
    async close() {
      admin.destroy();
      await server.stop();
    },
  };
}
