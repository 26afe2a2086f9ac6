import type { BatchEngine } from './lifecycle/batch-engine.ts';
import type { StateStore } from './state/state-store.ts';

/** What `GET /_emulator/stats` reports; tests and benchmarks read it to count what really happened. */
export interface EmulatorStats {
  /** Batches ever created (batches cannot be deleted, so this survives restarts). */
  batchesCreated: number;
  /** Batches per `metadata.idempotency_key`; a value above 1 means a duplicate (billed) batch. */
  batchesByIdempotencyKey: Record<string, number>;
  /** Batches per combination of the requested metadata keys' values, joined with `/` (e.g. `job/0/3`). */
  batchesByMetadata: Record<string, number>;
  batchesByStatus: Record<string, number>;
  filesUploaded: number;
  bytesUploaded: number;
  callsPerRoute: Record<string, number>;
  faultsInjected: Record<string, Record<string, number>>;
  faultsInjectedTotal: number;
}

/** Counts derived from the stored batches plus the persisted call and fault counters. */
export function collectStats(
  store: StateStore,
  engine: BatchEngine,
  metadataKeys: readonly string[] = [],
): EmulatorStats {
  const byKey: Record<string, number> = {};
  const byMetadata: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const now = Date.now();
  for (const record of store.batches.values()) {
    const key = record.metadata?.idempotency_key;
    if (key !== undefined) byKey[key] = (byKey[key] ?? 0) + 1;
    if (metadataKeys.length > 0) {
      const combo = metadataKeys.map((k) => record.metadata?.[k] ?? '').join('/');
      byMetadata[combo] = (byMetadata[combo] ?? 0) + 1;
    }
    const status = engine.moment(record, now).status;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  const { counters } = store;
  let faultsTotal = 0;
  for (const kinds of Object.values(counters.faultsInjected)) for (const n of Object.values(kinds)) faultsTotal += n;
  return {
    batchesCreated: store.batches.size,
    batchesByIdempotencyKey: byKey,
    batchesByMetadata: byMetadata,
    batchesByStatus: byStatus,
    filesUploaded: counters.filesUploaded,
    bytesUploaded: counters.bytesUploaded,
    callsPerRoute: { ...counters.callsPerRoute },
    faultsInjected: structuredClone(counters.faultsInjected),
    faultsInjectedTotal: faultsTotal,
  };
}
