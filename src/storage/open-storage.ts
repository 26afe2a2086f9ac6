import { fileURLToPath } from 'node:url';
import type { BlobStorage } from './blob-storage.ts';
import { FileStorage } from './file-storage.ts';
import { StorageError } from './storage-error.ts';

/**
 * Opens the storage a root URI names: `file:///dir` or a plain directory path. Other schemes
 * (`s3://`) will be served here by their own backend; callers do not change.
 */
export function openStorage(rootUri: string): BlobStorage {
  if (rootUri.startsWith('file://')) return new FileStorage(fileURLToPath(rootUri));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rootUri)) {
    throw new StorageError(
      `storage root "${rootUri}" uses an unsupported scheme; use file:// or a directory path`,
      rootUri,
    );
  }
  return new FileStorage(rootUri);
}
