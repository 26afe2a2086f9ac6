import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { StorageError } from './storage-error.ts';
import type { S3Root } from './s3-uri.ts';
import { payloadSigning, type PayloadSigning } from './s3-payload-signing.ts';

/** Where the client's settings came from, for messages that name what to fix. */
export interface S3Settings {
  readonly config: S3ClientConfig;
  /** The endpoint requests go to, as a user would recognize it. */
  readonly endpointLabel: string;
  /** Whether write bodies are signed (OPENAI_BATCH_S3_PAYLOAD_SIGNING). */
  readonly payloadSigning: PayloadSigning;
}

/**
 * The S3 client settings for a root: the endpoint from the root's `?endpoint=`, else
 * OPENAI_BATCH_S3_ENDPOINT, else the SDK's own (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, a profile's
 * endpoint_url, or AWS). Credentials and region come from the SDK's default chain; they are never
 * read from the root. A custom endpoint gets path-style addressing (MinIO, Ceph, SeaweedFS, R2
 * accept it; virtual hosts need DNS per bucket) and us-east-1 when no region is configured.
 */
export function s3Settings(root: S3Root, env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = root.query['endpoint'] || env['OPENAI_BATCH_S3_ENDPOINT'] || undefined;
  const sdkEndpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'] || undefined;
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      throw new StorageError(
        `S3 endpoint "${url?.username || url?.password ? '(with credentials, redacted)' : endpoint}" is not an ` +
          'http(s) URL without credentials; set OPENAI_BATCH_S3_ENDPOINT (or ?endpoint= on the root) to e.g. http://127.0.0.1:9000',
        endpoint,
      );
    }
  }
  const signing = payloadSigning(env);
  const custom = endpoint ?? sdkEndpoint;
  const pathStyleSetting = root.query['pathStyle'] ?? env['OPENAI_BATCH_S3_PATH_STYLE'];
  const forcePathStyle = pathStyleSetting === undefined ? custom !== undefined : parseBool(pathStyleSetting);
  const region = root.query['region'] || (custom && !env['AWS_REGION'] ? 'us-east-1' : undefined);
  const config: S3ClientConfig = {
    forcePathStyle,
    // AWS itself answers a request signed for the wrong region with a redirect the SDK can follow.
    followRegionRedirects: true,
    // The SDK's default CRC32 checksum headers (since 3.729) are refused by several S3-compatible
    // stores; send a checksum only where an operation requires one, unless the user chose otherwise.
    ...(env['AWS_REQUEST_CHECKSUM_CALCULATION'] ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' as const }),
    ...(env['AWS_RESPONSE_CHECKSUM_VALIDATION'] ? {} : { responseChecksumValidation: 'WHEN_REQUIRED' as const }),
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region ? { region } : {}),
  };
  return { config, endpointLabel: custom ?? 'AWS S3', payloadSigning: signing };
}

/**
 * The part size: OPENAI_BATCH_S3_PART_MIB (whole MiB, at least 5), else 5 MiB, S3's smallest, as
 * lib-storage's default: in the 1,000,000-request bench it took reconcile's peak (six part buffers
 * at once) under 256 MB where 8 MiB parts did not (bench/README.md, s3-job, session 8).
 */
export function s3PartBytes(env: NodeJS.ProcessEnv = process.env): number {
  const setting = env['OPENAI_BATCH_S3_PART_MIB'];
  if (setting === undefined || setting === '') return 5 << 20;
  const mib = Number(setting);
  if (!Number.isInteger(mib) || mib < 5 || mib > 5120) {
    throw new StorageError(
      `OPENAI_BATCH_S3_PART_MIB "${setting}" is not a whole number of MiB from 5 to 5120 (S3's part sizes)`,
      setting,
    );
  }
  return mib * 1024 * 1024;
}

function parseBool(value: string): boolean {
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new StorageError(
    `path-style setting "${value}" is not true or false (OPENAI_BATCH_S3_PATH_STYLE or ?pathStyle=)`,
    value,
  );
}
