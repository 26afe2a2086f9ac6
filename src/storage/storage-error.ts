/** A storage call that cannot succeed as asked: a URI outside the root, a missing file, a bad scheme. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** The URI the caller passed. */
  readonly uri: string;

  constructor(message: string, uri: string, options?: { cause?: unknown }) {
    super(message, options);
    this.uri = uri;
  }
}
