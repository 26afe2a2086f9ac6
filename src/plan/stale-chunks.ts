import type { BlobStorage } from '../storage/index.ts';

/**
 * Removes chunk files a previous planning attempt left that this plan does not use: beyond the
 * current chunk count (possible only if its options differed), or where this plan's chunk is a
 * slice (an earlier attempt may have had to write it out).
 */
export async function deleteStaleChunks(
  storage: BlobStorage,
  jobId: string,
  round: number,
  /** The chunk files and the snapshot this plan uses. */
  chunkUris: readonly string[],
  keepRejected: boolean,
): Promise<void> {
  const roundUri = storage.jobUri(jobId, `r${round}`);
  const used = new Set(chunkUris);
  for (const uri of await storage.list(roundUri)) {
    const rel = uri.slice(roundUri.length);
    // Chunk files only. Another planning attempt's snapshot (r1/input-a<k>.jsonl) stays: that
    // attempt may still be running (a heartbeat timeout does not stop it), and its plan could be
    // the one the job records, or fail for want of it and then discard chunk files this plan uses.
    const chunkFile = /^\/c\d+\/input\.jsonl$/.test(rel);
    if ((chunkFile && !used.has(uri)) || (!keepRejected && rel === '/rejected.jsonl')) await storage.delete(uri);
  }
}
