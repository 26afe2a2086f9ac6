import { fileObject, liveFile } from './routes/files.ts';
import type { BatchEngine } from './lifecycle/batch-engine.ts';
import type { StateStore } from './state/state-store.ts';

/** One batch as `GET /_emulator/inventory` lists it: the fields a test checks, as the API shows them now. */
export interface InventoryBatch {
  id: string;
  status: string;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  metadata: Record<string, string> | null;
  /** Unix seconds, as the API's `created_at`. */
  created_at: number;
}

/** One live file (not deleted, not expired). */
export interface InventoryFile {
  id: string;
  purpose: string;
  bytes: number;
  filename: string;
  created_at: number;
  expires_at: number | null;
}

/**
 * Every batch and every live file, in creation order, with no pagination and no faults: what a
 * test reads after a run to find batches left running or files nothing references.
 */
export interface EmulatorInventory {
  batches: InventoryBatch[];
  files: InventoryFile[];
  /** Live files per purpose. */
  filesByPurpose: Record<string, number>;
}

export function collectInventory(store: StateStore, engine: BatchEngine, now = Date.now()): EmulatorInventory {
  const batches = [...store.batches.values()]
    .sort((a, b) => a.seq - b.seq)
    .map((record): InventoryBatch => {
      const view = engine.view(record, now);
      return {
        id: record.id,
        status: String(view['status']),
        input_file_id: record.input_file_id,
        output_file_id: (view['output_file_id'] as string | null) ?? null,
        error_file_id: (view['error_file_id'] as string | null) ?? null,
        metadata: record.metadata,
        created_at: Math.floor(record.createdAtMs / 1000),
      };
    });
  const files: InventoryFile[] = [];
  const filesByPurpose: Record<string, number> = {};
  for (const record of [...store.files.values()].sort((a, b) => a.seq - b.seq)) {
    if (!liveFile(store, record.id, now)) continue;
    const { id, purpose, bytes, filename, created_at, expires_at } = fileObject(record);
    files.push({ id, purpose, bytes, filename, created_at, expires_at });
    filesByPurpose[purpose] = (filesByPurpose[purpose] ?? 0) + 1;
  }
  return { batches, files, filesByPurpose };
}
