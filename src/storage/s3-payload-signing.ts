import type { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { StorageError } from './storage-error.ts';

/**
 * Whether the bodies of our writes (PutObject, UploadPart) are covered by the SigV4 signature.
 * `auto`: signed over plain http, `UNSIGNED-PAYLOAD` over https, where TLS already guards the bytes
 * (botocore's and the AWS CLI's default). The JS SDK alone hashes every buffer body whatever the
 * scheme: SHA-256 of every byte on the worker and again on the server that checks it, both on the
 * same cores as the stage's own work (bench/README.md, s3-job, session 13).
 */
export type PayloadSigning = 'auto' | 'signed' | 'unsigned';

const MODES: readonly PayloadSigning[] = ['auto', 'signed', 'unsigned'];

/** OPENAI_BATCH_S3_PAYLOAD_SIGNING, else `auto`; anything else is refused with the three choices. */
export function payloadSigning(env: NodeJS.ProcessEnv): PayloadSigning {
  const setting = env['OPENAI_BATCH_S3_PAYLOAD_SIGNING'];
  if (setting === undefined || setting === '') return 'auto';
  if ((MODES as readonly string[]).includes(setting)) return setting as PayloadSigning;
  throw new StorageError(
    `OPENAI_BATCH_S3_PAYLOAD_SIGNING "${setting}" is not one of ${MODES.join(', ')} ` +
      '(auto: sign write bodies over http only)',
    setting,
  );
}

const SHA256_HEADER = 'x-amz-content-sha256';

/**
 * Marks the command's body `UNSIGNED-PAYLOAD` when `mode` says so for the request's scheme. It runs
 * in the build step, after the endpoint is resolved and before the signer, which takes a
 * `x-amz-content-sha256` header already present as the payload's hash instead of computing one.
 */
export function applyPayloadSigning<C extends PutObjectCommand | UploadPartCommand>(
  command: C,
  mode: PayloadSigning,
): C {
  if (mode === 'signed') return command;
  // The two commands' stacks are typed per command; this middleware reads only the request.
  (command.middlewareStack as unknown as BuildStack).add(
    (next) => async (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> };
      if (request.headers && (mode === 'unsigned' || request.protocol === 'https:')) {
        request.headers[SHA256_HEADER] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'openaiBatchPayloadSigning' },
  );
  return command;
}

interface BuildStack {
  add(
    middleware: (
      next: (args: { request: unknown }) => Promise<unknown>,
    ) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: 'build'; name: string },
  ): void;
}
