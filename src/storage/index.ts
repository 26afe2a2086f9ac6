export type { BlobStorage } from './blob-storage.ts';
export { StorageError } from './storage-error.ts';
export { storageProblem } from './s3-errors.ts';
export { openStorage } from './open-storage.ts';
export { FileStorage } from './file-storage.ts';
export { readSmallText } from './read-text.ts';
export { S3Storage, type S3StorageOptions } from './s3-storage.ts';
