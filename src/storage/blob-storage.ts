/**
 * Where a job keeps its request and result files. Addressed by URI so that an `s3://` backend can
 * replace the local directory without any change to callers.
 */
export interface BlobStorage {
  /** The normalized root, e.g. `file:///var/lib/openai-batch`. */
  readonly rootUri: string;
  /** URI of a file under the job's prefix: `<root>/<jobId>/<parts...>`. */
  jobUri(jobId: string, ...parts: string[]): string;
  /** Opens a file for streaming reads. Rejects with `StorageError` when it is missing or outside the root. */
  openRead(uri: string): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>>;
  /**
   * Writes a whole file so that readers see either the old file or the complete new one, never a
   * part: the bytes go to a temporary name and are renamed when the source ends. If the source
   * throws, the temporary file is removed and the error is rethrown.
   */
  writeAtomic(uri: string, source: AsyncIterable<Uint8Array | string>): Promise<{ uri: string; bytes: number }>;
  exists(uri: string): Promise<boolean>;
  /** Size in bytes. Rejects with `StorageError` when the file is missing. */
  size(uri: string): Promise<number>;
  /** Every file URI that starts with the prefix (recursively), sorted; in-progress writes excluded. */
  list(prefixUri: string): Promise<string[]>;
  /** Removes a file; a missing file is not an error (deletes are retried by activities). A slice removes nothing. */
  delete(uri: string): Promise<void>;
  /**
   * The file's current version, which changes whenever the file is written again (S3: its ETag; a
   * local file: its size and modification time). Rejects with `StorageError` when it is missing.
   */
  version(uri: string): Promise<string>;
  /**
   * A URI of `length` bytes of the file from `offset`, pinned to `version` (see slice-uri.ts). It is
   * read with `openRead`, `size` and `exists` like a file; reading it once the file is no longer
   * that version rejects with `StorageError`. It cannot be written, and deleting it removes nothing.
   */
  sliceUri(uri: string, version: string, offset: number, length: number): string;
  /**
   * Copies a file to `toUri` within the storage, without its bytes passing through this process
   * (S3 CopyObject; a local clone or kernel copy), as atomically as `writeAtomic`; returns the
   * copy's version. With `ifVersion`, only a source of that version is copied (else a
   * `StorageError`, as for a changed slice). Rejects with `StorageError` when the source is missing.
   */
  copyWithin(fromUri: string, toUri: string, ifVersion?: string): Promise<string>;
}
