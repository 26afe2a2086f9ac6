import { readJson } from '../http/read-json.ts';
import { ApiError } from '../http/api-error.ts';
import { collectStats } from '../stats.ts';
import { collectInventory } from '../inventory.ts';
import type { RouteContext } from './route-context.ts';
import { maskWebhookSecret } from '../webhooks/webhook-config.ts';

/** `GET /_emulator/stats[?metadata_keys=job_id,round,chunk]`. */
export async function stats(ctx: RouteContext): Promise<unknown> {
  const keys = (ctx.url.searchParams.get('metadata_keys') ?? '').split(',').filter(Boolean);
  return Promise.resolve(collectStats(ctx.store, ctx.engine, keys));
}

/** `GET /_emulator/inventory`: every batch with its status, files and metadata, and every live file. */
export async function inventory(ctx: RouteContext): Promise<unknown> {
  return Promise.resolve(collectInventory(ctx.store, ctx.engine));
}

export async function getConfig(ctx: RouteContext): Promise<unknown> {
  return Promise.resolve(maskWebhookSecret(ctx.config()));
}

/** `POST /_emulator/config`: merges a partial config; a bad one is a 400 naming the problem. */
export async function postConfig(ctx: RouteContext): Promise<unknown> {
  const patch = await readJson(ctx.req);
  try {
    return maskWebhookSecret(ctx.setConfig(patch));
  } catch (err) {
    throw new ApiError(400, `Invalid emulator config: ${err instanceof Error ? err.message : String(err)}`, {
      param: null,
    });
  }
}
