import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StorageError } from './storage-error.ts';

/** Turns a `file://` URI or a plain path into an absolute path (relative paths are relative to `root`). */
export function uriToPath(uri: string, root: string): string {
  if (uri.startsWith('file://')) {
    try {
      return path.resolve(fileURLToPath(uri));
    } catch (err) {
      throw new StorageError(`"${uri}" is not a valid file:// URI`, uri, { cause: err });
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new StorageError(`"${uri}" uses a scheme this storage does not serve; expected file:// under ${root}`, uri);
  }
  return path.resolve(root, uri);
}

export function pathToUri(p: string): string {
  return pathToFileURL(p).href;
}

/** True when `p` is `root` itself or lies inside it. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves a URI to a path inside the root, following symlinks: the nearest existing ancestor is
 * resolved with realpath, so a symlink that points out of the root is caught even for a file that
 * does not exist yet.
 */
export async function resolveInside(uri: string, root: string, realRoot: string): Promise<string> {
  const p = uriToPath(uri, root);
  if (!isInside(root, p)) {
    throw new StorageError(
      `"${uri}" resolves to ${p}, outside the storage root ${root}; job files must stay under the root`,
      uri,
    );
  }
  let existing = p;
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await realpath(existing);
      const resolved = path.join(real, ...rest.reverse());
      if (!isInside(realRoot, resolved)) {
        throw new StorageError(`"${uri}" follows a symlink to ${resolved}, outside the storage root ${realRoot}`, uri);
      }
      return p;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (existing === root) return p;
      rest.push(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
}

/** Checks that a job id or path part is one plain path segment. */
export function assertSegment(part: string, what: string): void {
  if (
    part === '' ||
    part === '.' ||
    part === '..' ||
    part.includes('/') ||
    part.includes('\\') ||
    part.includes('\0')
  ) {
    throw new StorageError(`${what} "${part}" must be one path segment without "/", "\\" or ".."`, part);
  }
}
