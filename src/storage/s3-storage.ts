import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BlobStorage } from './blob-storage.ts';
import { s3PartBytes, s3Settings } from './s3-client-config.ts';
import { s3Failure } from './s3-errors.ts';
import { formatS3Root, keyToUri, parseS3Root, uriToKey, type S3Root } from './s3-uri.ts';
import { assertSegment } from './resolve-path.ts';
import type { PayloadSigning } from './s3-payload-signing.ts';
import { PartPool, uploadStream } from './s3-upload.ts';
import { formatSliceUri, parseSliceUri, sliceChanged, sliceNotWritable, type Slice } from './slice-uri.ts';

/**
 * Tuning for {@link S3Storage}; upload memory is about `partBytes * (uploads at once + queueSize)`:
 * each upload fills one part buffer, and `queueSize` parts are sent at once across all uploads.
 */
export interface S3StorageOptions {
  /**
   * Multipart part size; S3 requires at least 5 MiB and allows 10,000 parts, so this bounds an
   * object at 10,000 parts (48.8 GiB at 5 MiB). @default OPENAI_BATCH_S3_PART_MIB MiB, else 5 MiB
   */
  readonly partBytes?: number;
  /** Parts sent at once, over all of this storage's uploads. @default 4 */
  readonly queueSize?: number;
  /** Environment to read settings from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The S3-compatible backend: `s3://bucket/prefix` roots, objects under `<prefix>/<jobId>/...`.
 * Reads stream the GET body; writes stream through a multipart upload, which S3 shows to readers
 * only once it completes (the whole-file semantics of `writeAtomic`) and which is aborted, parts
 * and all, when the source or a part fails.
 */
export class S3Storage implements BlobStorage {
  readonly rootUri: string;
  readonly #root: S3Root;
  readonly #client: S3Client;
  readonly #endpoint: string;
  readonly #parts: PartPool;
  readonly #payloadSigning: PayloadSigning;

  constructor(rootUri: string, options: S3StorageOptions = {}) {
    this.#root = parseS3Root(rootUri);
    this.rootUri = formatS3Root(this.#root);
    const { config, endpointLabel, payloadSigning } = s3Settings(this.#root, options.env);
    this.#client = new S3Client(config);
    this.#endpoint = endpointLabel;
    this.#payloadSigning = payloadSigning;
    this.#parts = new PartPool(options.partBytes ?? s3PartBytes(options.env ?? process.env), options.queueSize ?? 4);
  }

  jobUri(jobId: string, ...parts: string[]): string {
    assertSegment(jobId, 'job id');
    const segments = parts.flatMap((p) => p.split('/'));
    for (const s of segments) assertSegment(s, 'path part');
    return [this.rootUri, jobId, ...segments].join('/');
  }

  async openRead(uri: string): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
    const slice = parseSliceUri(uri);
    const key = this.#key(slice ? slice.base : uri);
    try {
      if (slice?.length === 0) {
        // No Range can name zero bytes: check the version, read nothing.
        await this.#head(key, slice.version);
        return Readable.from([]) as Readable & AsyncIterable<Buffer>;
      }
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#root.bucket,
          Key: key,
          // The slice's bytes of the version it was cut from, or 412 Precondition Failed.
          ...(slice
            ? { Range: `bytes=${slice.offset}-${slice.offset + slice.length - 1}`, IfMatch: slice.version }
            : {}),
        }),
      );
      if (!(out.Body instanceof Readable)) throw new Error(`GET ${uri} returned no stream body`);
      // The body as the socket delivers it (64 KiB pieces), not joined into larger ones: joining
      // allocated a second buffer for every byte read, and that garbage, freed only by full GCs,
      // made the S3 stages peak ~50 MB above the file root (bench/README.md, session 8).
      return out.Body;
    } catch (err) {
      throw this.#fail(err, uri, true, slice);
    }
  }

  async writeAtomic(uri: string, source: AsyncIterable<Uint8Array | string>): Promise<{ uri: string; bytes: number }> {
    if (parseSliceUri(uri)) throw sliceNotWritable(uri);
    const key = this.#key(uri);
    try {
      const target = {
        client: this.#client,
        bucket: this.#root.bucket,
        key,
        pool: this.#parts,
        payloadSigning: this.#payloadSigning,
      };
      const bytes = await uploadStream(target, source);
      return { uri: keyToUri(this.#root.bucket, key), bytes };
    } catch (err) {
      throw this.#fail(err, uri);
    }
  }

  async exists(uri: string): Promise<boolean> {
    const slice = parseSliceUri(uri);
    try {
      await this.#head(this.#key(slice ? slice.base : uri), slice?.version);
      return true;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NotFound' || name === 'NoSuchKey' || (slice && preconditionFailed(err))) return false;
      throw this.#fail(err, uri, false);
    }
  }

  async size(uri: string): Promise<number> {
    const slice = parseSliceUri(uri);
    try {
      const head = await this.#head(this.#key(slice ? slice.base : uri), slice?.version);
      return slice ? slice.length : (head.ContentLength ?? 0);
    } catch (err) {
      throw this.#fail(err, uri, true, slice);
    }
  }

  async version(uri: string): Promise<string> {
    try {
      const etag = (await this.#head(this.#key(uri))).ETag;
      if (!etag) throw new Error(`HEAD ${uri} returned no ETag`);
      return etag;
    } catch (err) {
      throw this.#fail(err, uri);
    }
  }

  async copyWithin(fromUri: string, toUri: string, ifVersion?: string): Promise<string> {
    if (parseSliceUri(toUri)) throw sliceNotWritable(toUri);
    const from = this.#key(fromUri);
    const to = this.#key(toUri);
    try {
      // One CopyObject: S3 copies up to 5 GiB so; the copy appears whole or not at all.
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.#root.bucket,
          Key: to,
          CopySource: `${this.#root.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          // The copy is the job's own file: the source's tags are not carried (copying them needs
          // s3:GetObjectTagging and s3:PutObjectTagging, which a job's credentials need not have).
          TaggingDirective: 'REPLACE',
          ...(ifVersion ? { CopySourceIfMatch: ifVersion } : {}),
        }),
      );
    } catch (err) {
      if (ifVersion && preconditionFailed(err))
        throw sliceChanged(fromUri, { base: fromUri, offset: 0, length: 0, version: ifVersion }, 'another version');
      throw this.#fail(err, fromUri);
    }
    // The version as reads check it (HEAD's ETag), not as CopyObject's answer quotes it.
    return await this.version(toUri);
  }

  sliceUri(uri: string, version: string, offset: number, length: number): string {
    // Always the whole s3:// URI, so that the slice reads the same object from any caller.
    return formatSliceUri(keyToUri(this.#root.bucket, this.#key(uri)), version, offset, length);
  }

  async list(prefixUri: string): Promise<string[]> {
    const key = this.#key(prefixUri);
    // As in a directory tree: a prefix that is a folder lists the folder (`r1` never lists `r10/`);
    // otherwise it is the start of a name.
    let keys = await this.#listKeys(key === '' ? '' : `${key}/`, prefixUri);
    if (keys.length === 0 && key !== '') keys = await this.#listKeys(key, prefixUri);
    return keys.sort().map((k) => keyToUri(this.#root.bucket, k));
  }

  async delete(uri: string): Promise<void> {
    // A slice is a view of an object it does not own: the object stays.
    if (parseSliceUri(uri)) return;
    try {
      // S3 answers a delete of a missing key with success.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#root.bucket, Key: this.#key(uri) }));
    } catch (err) {
      throw this.#fail(err, uri);
    }
  }

  /** Closes the client's sockets; later calls fail. */
  destroy(): void {
    this.#client.destroy();
  }

  async #listKeys(prefix: string, uri: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      // The paginator follows continuation tokens, 1,000 keys a page.
      for await (const page of paginateListObjectsV2(
        { client: this.#client },
        { Bucket: this.#root.bucket, Prefix: prefix },
      )) {
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      }
    } catch (err) {
      throw this.#fail(err, uri);
    }
    return keys;
  }

  #head(key: string, ifMatch?: string) {
    return this.#client.send(
      new HeadObjectCommand({ Bucket: this.#root.bucket, Key: key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
    );
  }

  #key(uri: string): string {
    return uriToKey(uri, this.#root);
  }

  #fail(err: unknown, uri: string, missingIsError = true, slice?: Slice): Error {
    if (slice && preconditionFailed(err)) return sliceChanged(uri, slice, 'another version');
    const ctx = { uri, bucket: this.#root.bucket, rootUri: this.rootUri, endpoint: this.#endpoint };
    return s3Failure(err, ctx, missingIsError);
  }
}

/** S3's answer to a conditional read whose If-Match no longer holds: the object was written again. */
function preconditionFailed(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}
