import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BatchRecord, FileRecord } from './records.ts';

/** Counters that are not derivable from the stored objects; persisted so a restart keeps them. */
export interface Counters {
  filesUploaded: number;
  bytesUploaded: number;
  callsPerRoute: Record<string, number>;
  faultsInjected: Record<string, Record<string, number>>;
}

/**
 * Files and batches on disk under the state dir, mirrored in memory. Every mutation is written
 * before it is acknowledged (write to a temporary name, then rename), so a killed emulator
 * restarts with exactly what its clients were told.
 *
 * Layout: `files/<id>.json` + `files/<id>.data`, `batches/<id>.json`, `counters.json`, `tmp/`.
 */
export class StateStore {
  readonly dir: string;
  readonly files = new Map<string, FileRecord>();
  readonly batches = new Map<string, BatchRecord>();
  counters: Counters = { filesUploaded: 0, bytesUploaded: 0, callsPerRoute: {}, faultsInjected: {} };
  #seq = 0;
  #countersDirty = false;
  #writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async open(dir: string): Promise<StateStore> {
    const store = new StateStore(dir);
    await Promise.all(['files', 'batches', 'tmp'].map((d) => mkdir(join(dir, d), { recursive: true })));
    // Leftovers of uploads or outputs interrupted by a kill are never referenced.
    await rm(join(dir, 'tmp'), { recursive: true, force: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    for (const name of await readdir(join(dir, 'files'))) {
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(join(dir, 'files', name), 'utf8')) as FileRecord;
      store.files.set(record.id, record);
      store.#seq = Math.max(store.#seq, record.seq);
    }
    for (const name of await readdir(join(dir, 'batches'))) {
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(join(dir, 'batches', name), 'utf8')) as BatchRecord;
      store.batches.set(record.id, record);
      store.#seq = Math.max(store.#seq, record.seq);
    }
    try {
      store.counters = JSON.parse(await readFile(join(dir, 'counters.json'), 'utf8')) as Counters;
    } catch {
      // First start: no counters yet.
    }
    return store;
  }

  /** A creation sequence number, strictly increasing across restarts. */
  nextSeq(): number {
    return ++this.#seq;
  }

  dataPath(fileId: string): string {
    return join(this.dir, 'files', `${fileId}.data`);
  }

  tmpPath(): string {
    return join(this.dir, 'tmp', randomBytes(12).toString('hex'));
  }

  async saveFile(record: FileRecord): Promise<void> {
    this.files.set(record.id, record);
    await this.#writeJson(join(this.dir, 'files', `${record.id}.json`), record);
  }

  /** Deletes a file; `keepData` leaves its bytes for a batch that is still reading them. */
  async deleteFile(id: string, options: { keepData?: boolean } = {}): Promise<void> {
    this.files.delete(id);
    await rm(join(this.dir, 'files', `${id}.json`), { force: true });
    if (!options.keepData) await rm(this.dataPath(id), { force: true });
  }

  async saveBatch(record: BatchRecord): Promise<void> {
    this.batches.set(record.id, record);
    await this.#writeJson(join(this.dir, 'batches', `${record.id}.json`), record);
  }

  markCountersDirty(): void {
    this.#countersDirty = true;
  }

  /** Counters change on every call, so they are flushed periodically and at stop, not per call. */
  async flushCounters(): Promise<void> {
    if (!this.#countersDirty) return;
    this.#countersDirty = false;
    await this.#writeJson(join(this.dir, 'counters.json'), this.counters);
  }

  /** Writes of one path are chained so that an older snapshot never lands after a newer one. */
  async #writeJson(path: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    const previous = this.#writes.get(path) ?? Promise.resolve();
    const write = previous.then(async () => {
      const tmp = this.tmpPath();
      await writeFile(tmp, text);
      await rename(tmp, path);
    });
    this.#writes.set(
      path,
      write.catch(() => undefined),
    );
    await write;
  }
}
