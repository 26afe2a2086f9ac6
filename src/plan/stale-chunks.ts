import type { BlobStorage } from '../storage/index.ts';

/**
 * Removes chunk files a previous planning attempt left beyond the current chunk count (possible
 * only if its options differed), so the round's directory holds exactly this plan.
 */
export async function deleteStaleChunks(
  storage: BlobStorage,
  jobId: string,
  round: number,
  chunkCount: number,
  keepRejected: boolean,
): Promise<void> {
  const roundUri = storage.jobUri(jobId, `r${round}`);
  for (const uri of await storage.list(roundUri)) {
    const rel = uri.slice(roundUri.length);
    const m = /^\/c(\d+)\/input\.jsonl$/.exec(rel);
    if ((m && Number(m[1]) >= chunkCount) || (!keepRejected && rel === '/rejected.jsonl')) await storage.delete(uri);
  }
}
