import type OpenAI from 'openai';
import { callOpenAI } from '../src/openai/errors.ts';

/**
 * How far an earlier attempt's search for one idempotency key got, carried in heartbeat details:
 * no batch from the newest one it saw (created at `topCreatedAt`) down to `afterId` carries the
 * key. `afterId` undefined: the search reached its bound. Lets a retry resume the listing instead
 * of starting over, so that a window that takes longer to list than the send window still ends.
 */
export interface KeyScan {
  readonly key: string;
  /** `created_at` (epoch seconds) of the newest batch the search started from. */
  readonly topCreatedAt: number;
  /** The oldest batch covered so far (the `after` cursor of the rest); undefined once at the bound. */
  readonly afterId?: string | undefined;
}

/**
 * Batches newer than this many seconds before an earlier search's top are listed again: a batch
 * created since then has a `created_at` at least as late as that top (less jitter between
 * OpenAI's servers; batches created in the same second may sort either way).
 */
const RESCAN_OVERLAP_SECONDS = 5;

const PAGE = 100;

/**
 * Batches carrying `key`, newest first, back to `notBeforeSeconds`. With `previous` (an earlier
 * attempt's search for the same key, which found nothing), it lists only what is newer than that
 * search's top (with an overlap) and the part it had not reached. `progress` is told after each page.
 */
export async function scanForKey(
  client: OpenAI,
  key: string,
  notBeforeSeconds: number,
  previous: KeyScan | undefined,
  progress: (scan: KeyScan) => void,
): Promise<OpenAI.Batches.Batch[]> {
  const resume = previous?.key === key ? previous : undefined;
  const found: OpenAI.Batches.Batch[] = [];
  let topCreatedAt: number | undefined;
  // From the newest down to the earlier search's top (or, without one, to the bound).
  const stopAt = resume ? Math.max(notBeforeSeconds, resume.topCreatedAt - RESCAN_OVERLAP_SECONDS) : notBeforeSeconds;
  let after: string | undefined;
  let reachedStop = false;
  for (;;) {
    const page = await listPage(client, after);
    for (const batch of page.data) {
      topCreatedAt ??= batch.created_at;
      if (batch.created_at < stopAt) {
        reachedStop = true;
        break;
      }
      if (batch.metadata?.['idempotency_key'] === key) found.push(batch);
      after = batch.id;
    }
    const top = topCreatedAt ?? resume?.topCreatedAt ?? notBeforeSeconds;
    const end = reachedStop || !page.hasNextPage() || page.data.length === 0;
    // Without an earlier search this one is a single range, resumable from its last batch.
    if (!resume) progress({ key, topCreatedAt: top, afterId: end ? undefined : after });
    if (end) break;
  }
  if (!resume) return found;
  // The earlier search's range needs no second look; what it had not reached follows its cursor.
  const top = topCreatedAt ?? resume.topCreatedAt;
  after = resume.afterId;
  progress({ key, topCreatedAt: top, afterId: after });
  while (after !== undefined) {
    const page = await listPage(client, after);
    let end = !page.hasNextPage() || page.data.length === 0;
    for (const batch of page.data) {
      if (batch.created_at < notBeforeSeconds) {
        end = true;
        break;
      }
      if (batch.metadata?.['idempotency_key'] === key) found.push(batch);
      after = batch.id;
    }
    progress({ key, topCreatedAt: top, afterId: end ? undefined : after });
    if (end) break;
  }
  return found;
}

async function listPage(client: OpenAI, after: string | undefined) {
  return await callOpenAI(
    'batches.list',
    async () => await client.batches.list({ limit: PAGE, ...(after ? { after } : {}) }),
  );
}
