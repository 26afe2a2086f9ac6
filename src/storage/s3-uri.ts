import { StorageError } from './storage-error.ts';

/** An `s3://bucket/prefix` root, split; the query configures the client and never names a file. */
export interface S3Root {
  readonly bucket: string;
  /** Key prefix without leading or trailing `/`; `''` for the whole bucket. */
  readonly prefix: string;
  /** Settings from the root's query: `endpoint`, `region`, `pathStyle`. */
  readonly query: Readonly<Record<string, string>>;
}

const QUERY_KEYS = new Set(['endpoint', 'region', 'pathStyle']);
// S3's rules for new buckets, loosened to what S3-compatible stores accept (dots, 3-63 chars).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses a storage root such as `s3://bucket/jobs?endpoint=http://127.0.0.1:9000`. Credentials are
 * refused here: a root travels in logs, health reports and workflow inputs, so keys come from the
 * AWS SDK's default chain only.
 */
export function parseS3Root(rootUri: string): S3Root {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(rootUri);
  if (!m) throw new StorageError(`"${rootUri}" is not an s3:// URI; expected s3://bucket/prefix`, rootUri);
  const [, authority = '', path = '', search] = m;
  if (authority.includes('@')) {
    throw new StorageError(
      `storage root "${redactUserInfo(rootUri)}" carries credentials; remove them and let the AWS SDK find them ` +
        '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance or container role)',
      redactUserInfo(rootUri),
    );
  }
  if (!BUCKET.test(authority)) {
    throw new StorageError(
      `storage root "${rootUri}" names bucket "${authority}", which is not a valid bucket name ` +
        '(3-63 lowercase letters, digits, dots and hyphens)',
      rootUri,
    );
  }
  const segments = path.split('/').filter((s) => s !== '');
  for (const s of segments) assertKeySegment(s, rootUri);
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(search ?? '')) {
    if (!QUERY_KEYS.has(key)) {
      throw new StorageError(
        `storage root "${rootUri}" has an unknown setting "${key}"; the query may set ${[...QUERY_KEYS].join(', ')}`,
        rootUri,
      );
    }
    query[key] = value;
  }
  return { bucket: authority, prefix: segments.join('/'), query };
}

/** The root URI as callers see it: no query, no trailing slash. */
export function formatS3Root(root: Pick<S3Root, 'bucket' | 'prefix'>): string {
  return `s3://${root.bucket}${root.prefix ? `/${root.prefix}` : ''}`;
}

export function keyToUri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * The object key a URI names, which must lie under the root: an `s3://` URI in the root's bucket
 * and prefix, or a path relative to the root. `.` and `..` segments are refused, as the file backend
 * refuses paths that leave its directory.
 */
export function uriToKey(uri: string, root: S3Root): string {
  const rootUri = formatS3Root(root);
  let key: string;
  if (/^s3:\/\//i.test(uri)) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket !== root.bucket) {
      throw new StorageError(`"${uri}" is in bucket "${bucket}", outside the storage root ${rootUri}`, uri);
    }
    key = slash < 0 ? '' : rest.slice(slash + 1);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || uri.startsWith('/')) {
    throw new StorageError(`"${uri}" is not an s3:// URI; expected a URI under the storage root ${rootUri}`, uri);
  } else {
    key = root.prefix ? `${root.prefix}/${uri}` : uri;
  }
  const segments = key.split('/');
  // A trailing slash names the same folder as no slash; an empty segment inside is a different key.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  for (const s of segments) {
    if (s === '.' || s === '..') {
      throw new StorageError(
        `"${uri}" has a "${s}" segment; job files must stay under the storage root ${rootUri}`,
        uri,
      );
    }
  }
  key = segments.join('/');
  if (root.prefix && key !== root.prefix && !key.startsWith(`${root.prefix}/`)) {
    throw new StorageError(`"${uri}" is outside the storage root ${rootUri}; job files must stay under the root`, uri);
  }
  return key;
}

function assertKeySegment(s: string, uri: string): void {
  if (s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
    throw new StorageError(`"${uri}" has a path segment "${s}" that an object key must not have`, uri);
  }
}

/** The URI with any `user:password@` removed, safe to print. */
export function redactUserInfo(uri: string): string {
  return uri.replace(/^(s3:\/\/)[^/?#]*@/i, '$1***@');
}
