import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findS3Server, type S3ServerSource } from './find-s3-server.ts';
import { freePort } from './free-port.ts';
import { startServerBinary } from './start-server-binary.ts';

/** Options for {@link startS3Server}. */
export interface S3ServerOptions {
  /** A `minio` binary to use; otherwise {@link findS3Server} looks for one. */
  readonly binaryPath?: string | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  readonly ip?: string;
  /** S3 API port. @default a free port */
  readonly port?: number;
  /** Directory that keeps the objects. @default a fresh temporary directory, removed on stop */
  readonly dataDir?: string;
  /** How long to wait for the server to answer. @default 60000 */
  readonly readyTimeoutMs?: number;
  /** Build MinIO with Go when no binary is found. @default true */
  readonly allowGoBuild?: boolean;
  /** One line per provisioning step. */
  readonly onProgress?: (line: string) => void;
}

/** A running S3-compatible server, with the throwaway root credentials it was started with. */
export interface S3Server {
  /** `http://ip:port`, for OPENAI_BATCH_S3_ENDPOINT. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly source: S3ServerSource;
  /** Stops the server and its process group; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a single-node MinIO server on a free port with fresh random root credentials and resolves
 * once it reports ready. Like the Temporal dev server it runs in its own process group, and a
 * watchdog stops it if this process dies without calling `stop()`.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const progress = options.onProgress ?? (() => undefined);
  const binary = await findS3Server({
    explicitPath: options.binaryPath,
    allowGoBuild: options.allowGoBuild ?? true,
    onProgress: progress,
  });
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? (await freePort(ip));
  let tempDir: string | undefined;
  let dataDir = options.dataDir;
  if (!dataDir) {
    tempDir = await mkdtemp(join(tmpdir(), 'openai-batch-s3-'));
    dataDir = tempDir;
  }
  const accessKeyId = `test-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('hex');
  const region = 'us-east-1';
  progress(`starting MinIO (${binary.source}: ${binary.path}) on ${ip}:${port}`);
  const endpoint = `http://${ip}:${port}`;
  const { stop } = await startServerBinary({
    path: binary.path,
    args: ['server', dataDir, '--address', `${ip}:${port}`, '--quiet'],
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? tmpdir(),
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_REGION: region,
      // No web console (it would take a second port), no update checks, no phoning home.
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
    },
    name: 'MinIO',
    ready: [
      {
        what: `MinIO at ${endpoint}`,
        check: async () => {
          const res = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          if (res.status !== 200) throw new Error(`health check answered HTTP ${res.status}`);
        },
      },
    ],
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    removeOnStop: tempDir,
  });
  progress(`MinIO ready at ${endpoint}`);
  return { endpoint, accessKeyId, secretAccessKey, region, source: binary.source, stop };
}
