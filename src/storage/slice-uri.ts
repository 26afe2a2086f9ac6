import { StorageError } from './storage-error.ts';

/**
 * A slice: `length` bytes of a file from `offset`, pinned to the file's version, addressed as
 * `<file uri>/@slice/<offset>+<length>/<version>`. Plan's chunks are slices of its snapshot of the
 * input when their lines are its bytes unchanged, so that a plan reads the input and writes no
 * chunk copy of it (it wrote every byte back before: bench/README.md, s3-job, session 13). A slice
 * is read like a file; reading one after its file changed rejects, instead of mixing two versions'
 * lines. The form is a path below the file, not a `#fragment`: a worker of an older release reads
 * it as a file that does not exist (a storage error), never as the whole file (a fragment is
 * dropped by `fileURLToPath`).
 */
export interface Slice {
  readonly base: string;
  readonly offset: number;
  readonly length: number;
  readonly version: string;
}

const SLICE = /\/@slice\/(\d+)\+(\d+)\/([^/]*)$/;

export function formatSliceUri(base: string, version: string, offset: number, length: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`a slice needs a whole offset and length, not ${offset}+${length}`);
  return `${base}/@slice/${offset}+${length}/${encodeURIComponent(version)}`;
}

/** The slice a URI names, or undefined for a plain file URI. */
export function parseSliceUri(uri: string): Slice | undefined {
  const m = SLICE.exec(uri);
  if (!m) return undefined;
  return {
    base: uri.slice(0, m.index),
    offset: Number(m[1]),
    length: Number(m[2]),
    version: decodeURIComponent(m[3] as string),
  };
}

/** A slice's file (or a conditional copy's source) is no longer the version asked for. */
export class SliceChangedError extends StorageError {}

/** The error for a slice whose file is no longer the version it was cut from. */
export function sliceChanged(uri: string, slice: Slice, now: string): StorageError {
  return new SliceChangedError(
    `"${slice.base}" was written again after the job was planned from it (version ${slice.version}, now ${now}); ` +
      "nothing may write a running job's files",
    uri,
  );
}

/** The error for a write to a slice: slices are views of a file, never written. */
export function sliceNotWritable(uri: string): StorageError {
  return new StorageError(`"${uri}" is a slice of another file and cannot be written`, uri);
}
