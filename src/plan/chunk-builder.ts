import { openLineWriter, type LineWriter } from '../jsonl/index.ts';
import type { BlobStorage } from '../storage/index.ts';
import type { ResolvedChunkLimits } from './chunk-limits.ts';
import type { ChunkManifest } from './manifest.ts';

/** What one request adds to a chunk, measured against every limit at once. */
export interface RequestSize {
  bytes: number;
  tokens: number;
  embeddingInputs: number;
  maxOutputTokens: number;
}

/** Where a request's line sits in the input: its offset, and whether the input holds it unchanged there. */
export interface LinePlace {
  readonly offset: number;
  /** The input holds exactly the line's bytes and one `\n` at `offset` (JsonlRawLine.exact). */
  readonly exact: boolean;
}

/**
 * What a builder cuts chunks from: slices of `uri` at `version` (a copy of the lines being read,
 * whose version may be known only once that copy is done), and the same bytes to copy a chunk's
 * earlier lines from when it becomes a file (`read`, pinned to the version being read).
 */
export interface ChunkSource {
  readonly uri: string;
  readonly version: string | Promise<string>;
  readonly read: { readonly uri: string; readonly version: string };
}

interface OpenChunk {
  index: number;
  /** The chunk's own file, once it is one; until then the chunk is `slice` of the input. */
  writer: LineWriter | undefined;
  /** The input's bytes [start, end) the chunk's lines are, while they are the input's bytes unchanged. */
  slice: { start: number; end: number } | undefined;
  requests: number;
  bytes: number;
  tokens: number;
  inputs: number;
  maxOutput: number;
}

/**
 * Packs requests into chunk files in input order, starting a new chunk when the next request would
 * break any limit. Greedy and order-preserving, hence deterministic: the same lines and limits give
 * the same chunk files byte for byte.
 *
 * Given the input as a `ChunkSource`, a chunk whose lines are a run of the input's bytes unchanged
 * (no rejected or blank line between them, no `\r\n`, a final `\n`) is not written at all: it is a
 * slice of the input (`BlobStorage.sliceUri`), the same bytes. The first line that breaks the run
 * turns the open chunk into a file of its own, its earlier lines copied from the input.
 */
export class ChunkBuilder {
  /** Committed chunks, in order; complete once `finish` has resolved. */
  readonly chunks: (ChunkManifest & { maxOutputTokens: number })[] = [];
  #open: OpenChunk | undefined;
  #opened = 0;
  /** The previous chunk's commit, still being written while the next chunk fills. */
  #closing: Promise<void> | undefined;
  readonly #storage: BlobStorage;
  readonly #limits: ResolvedChunkLimits;
  readonly #uriFor: (index: number) => string;
  readonly #source: ChunkSource | undefined;
  /** The open chunk becoming a file: its earlier lines being copied in (awaited by `flush`). */
  #converting: Promise<void> | undefined;
  /** Closed chunks that are slices, their URIs still to cut (see `finish`). */
  readonly #unnamed: { index: number; start: number; end: number }[] = [];

  constructor(
    storage: BlobStorage,
    limits: ResolvedChunkLimits,
    uriFor: (index: number) => string,
    source?: ChunkSource,
  ) {
    this.#storage = storage;
    this.#limits = limits;
    this.#uriFor = uriFor;
    this.#source = source;
  }

  fits(size: RequestSize): boolean {
    const c = this.#open;
    if (!c) return true;
    const l = this.#limits;
    return (
      c.requests + 1 <= l.maxRequests &&
      c.bytes + size.bytes <= l.maxBytes &&
      c.inputs + size.embeddingInputs <= l.maxEmbeddingInputs &&
      (l.maxTokensPerBatch === undefined || c.tokens + size.tokens <= l.maxTokensPerBatch)
    );
  }

  async add(raw: Buffer, size: RequestSize, place?: LinePlace): Promise<void> {
    if (!this.fits(size)) await this.closeChunk();
    if (!this.append(raw, size, place)) await this.flush();
  }

  /**
   * Adds a request to the open chunk (opening one if none is) without waiting. The caller must have
   * checked `fits` and closed a full chunk. Returns false when the caller must `await flush()`.
   */
  append(raw: Buffer, size: RequestSize, place?: LinePlace): boolean {
    if (!this.#open) {
      const index = this.#opened++;
      this.#open = {
        index,
        writer: this.#source && place ? undefined : openLineWriter(this.#storage, this.#uriFor(index)),
        slice: undefined,
        requests: 0,
        bytes: 0,
        tokens: 0,
        inputs: 0,
        maxOutput: 0,
      };
    }
    const c = this.#open;
    c.requests++;
    c.bytes += size.bytes;
    c.tokens += size.tokens;
    c.inputs += size.embeddingInputs;
    c.maxOutput += size.maxOutputTokens;
    if (c.writer) return c.writer.appendLine(raw);
    if (place?.exact && (c.slice === undefined || place.offset === c.slice.end)) {
      c.slice = { start: c.slice?.start ?? place.offset, end: place.offset + raw.length + 1 };
      return true;
    }
    // The run of the input's bytes ends here: the chunk becomes a file of its own.
    const writer = openLineWriter(this.#storage, this.#uriFor(c.index));
    c.writer = writer;
    const earlier = c.slice;
    c.slice = undefined;
    const line = Buffer.from(raw); // `raw` is a view of a read buffer that is reused
    this.#converting = this.#copyFromInput(writer, earlier).then(() => writer.writeLine(line));
    return false;
  }

  /** Waits until the open chunk's writer has room again. */
  async flush(): Promise<void> {
    const converting = this.#converting;
    this.#converting = undefined;
    await converting;
    await this.#open?.writer?.flush();
  }

  /** Copies the input's bytes of `range` (lines already counted in the chunk) into its new file. */
  async #copyFromInput(writer: LineWriter, range: { start: number; end: number } | undefined): Promise<void> {
    const source = this.#source;
    if (!range || !source) return;
    const { uri, version } = source.read;
    const slice = this.#storage.sliceUri(uri, version, range.start, range.end - range.start);
    for await (const piece of await this.#storage.openRead(slice)) await writer.writeRaw(piece);
  }

  /**
   * Starts committing the open chunk and returns once the chunk before it is committed: the last
   * blocks, the close and the rename of one chunk overlap the filling of the next (they took ~40 ms
   * per chunk with the reader idle), while at most one commit is ever pending.
   */
  async closeChunk(): Promise<void> {
    const c = this.#open;
    if (!c) return;
    this.#open = undefined;
    const previous = this.#closing;
    // The chunk's lines are all in (a conversion to a file finished) before it is committed; a
    // conversion that failed leaves no file behind.
    await this.flush().catch(async (err: unknown) => {
      await c.writer?.abort();
      throw err;
    });
    const entry = (uri: string, bytes: number) => ({
      index: c.index,
      uri,
      requests: c.requests,
      bytes,
      estimatedInputTokens: c.tokens,
      estimatedCostUsd: 0,
      maxOutputTokens: c.maxOutput,
    });
    const writer = c.writer;
    if (!writer) {
      // A slice: nothing to write. Its URI names the copy's version, known once the copy is done
      // (it runs while the lines are read), so it is cut in `finish` and nothing waits for it here.
      const { start, end } = c.slice ?? { start: 0, end: 0 };
      this.chunks[c.index] = entry('', end - start);
      this.#unnamed.push({ index: c.index, start, end });
      return;
    }
    const closing = writer.close().then(({ uri, bytes }) => {
      this.chunks[c.index] = entry(uri, bytes);
    });
    // Awaited by the next closeChunk, finish or discard; never left to reject unobserved meanwhile.
    closing.catch(() => undefined);
    this.#closing = closing;
    await previous;
  }

  /** Commits the open chunk and waits until every chunk is committed (and every slice named). */
  async finish(): Promise<void> {
    await this.closeChunk();
    await this.#closing;
    this.#closing = undefined;
    const source = this.#source;
    if (!source || this.#unnamed.length === 0) return;
    const version = await source.version;
    for (const { index, start, end } of this.#unnamed.splice(0)) {
      (this.chunks[index] as { uri: string }).uri = this.#storage.sliceUri(source.uri, version, start, end - start);
    }
  }

  /** Drops the open chunk and deletes the committed ones: used when the input turns out invalid. */
  async discard(): Promise<void> {
    await this.#converting?.catch(() => undefined);
    this.#converting = undefined;
    await this.#open?.writer?.abort();
    this.#open = undefined;
    await this.#closing?.catch(() => undefined);
    this.#closing = undefined;
    this.#unnamed.length = 0;
    for (const c of this.chunks) if (c?.uri) await this.#storage.delete(c.uri);
    this.chunks.length = 0;
    this.#opened = 0;
  }
}
