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

interface OpenChunk {
  index: number;
  writer: LineWriter;
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

  constructor(storage: BlobStorage, limits: ResolvedChunkLimits, uriFor: (index: number) => string) {
    this.#storage = storage;
    this.#limits = limits;
    this.#uriFor = uriFor;
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

  async add(raw: Buffer, size: RequestSize): Promise<void> {
    if (!this.fits(size)) await this.closeChunk();
    if (!this.append(raw, size)) await this.flush();
  }

  /**
   * Adds a request to the open chunk (opening one if none is) without waiting. The caller must have
   * checked `fits` and closed a full chunk. Returns false when the caller must `await flush()`.
   */
  append(raw: Buffer, size: RequestSize): boolean {
    if (!this.#open) {
      const index = this.#opened++;
      this.#open = {
        index,
        writer: openLineWriter(this.#storage, this.#uriFor(index)),
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
    return c.writer.appendLine(raw);
  }

  /** Waits until the open chunk's writer has room again. */
  async flush(): Promise<void> {
    await this.#open?.writer.flush();
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
    const closing = c.writer.close().then(({ uri, bytes }) => {
      this.chunks[c.index] = {
        index: c.index,
        uri,
        requests: c.requests,
        bytes,
        estimatedInputTokens: c.tokens,
        estimatedCostUsd: 0,
        maxOutputTokens: c.maxOutput,
      };
    });
    // Awaited by the next closeChunk, finish or discard; never left to reject unobserved meanwhile.
    closing.catch(() => undefined);
    this.#closing = closing;
    await previous;
  }

  /** Commits the open chunk and waits until every chunk is committed. */
  async finish(): Promise<void> {
    await this.closeChunk();
    await this.#closing;
    this.#closing = undefined;
  }

  /** Drops the open chunk and deletes the committed ones: used when the input turns out invalid. */
  async discard(): Promise<void> {
    await this.#open?.writer.abort();
    this.#open = undefined;
    await this.#closing?.catch(() => undefined);
    this.#closing = undefined;
    for (const c of this.chunks) if (c) await this.#storage.delete(c.uri);
    this.chunks.length = 0;
    this.#opened = 0;
  }
}
