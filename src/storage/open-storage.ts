import { fileURLToPath } from 'node:url';
import type { BlobStorage } from './blob-storage.ts';
import { FileStorage } from './file-storage.ts';
import { S3Storage } from './s3-storage.ts';
import { StorageError } from './storage-error.ts';

/**
 * Opens the storage a root URI names: `file:///dir` or a plain directory path (one host), or
 * `s3://bucket/prefix` (any S3-compatible server, for workers on many hosts). Callers do not change.
 */
export function openStorage(rootUri: string): BlobStorage {
  if (rootUri.startsWith('file://')) return new FileStorage(fileURLToPath(rootUri));
  if (/^s3:\/\//i.test(rootUri)) return new S3Storage(rootUri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rootUri)) {
    throw new StorageError(
      `storage root "${rootUri}" uses an unsupported scheme; use s3://bucket/prefix, file:// or a directory path`,
      rootUri,
    );
  }
  return new FileStorage(rootUri);
}
