import type { BlobStorage } from './blob-storage.ts';

/** Reads a small file (a manifest, a report) whole. Never use it for request or result files. */
export async function readSmallText(storage: BlobStorage, uri: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of await storage.openRead(uri)) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}
