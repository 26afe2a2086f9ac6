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
  /** Removes a file; a missing file is not an error (deletes are retried by activities). */
  delete(uri: string): Promise<void>;
}
