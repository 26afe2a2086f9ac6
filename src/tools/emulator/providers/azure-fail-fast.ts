import { ApiError } from '../http/api-error.ts';
import { tokenLimitMessage } from '../lifecycle/batch-engine.ts';
import { validateInput } from '../lifecycle/validate-input.ts';
import type { RouteContext } from '../routes/route-context.ts';
import type { FileRecord } from '../state/records.ts';

/** What a fail-fast create adds to the queue, recorded on its batch until validation counts it. */
export interface EnqueuedEstimate {
  model: string;
  promptTokens: number;
}

/**
 * Azure's fail-fast regions (`azure.failFastTokenLimit`): a create whose prompt tokens would
 * overfill the model's enqueued-token limit is refused at once with 400 `token_limit_exceeded`,
 * and no batch is made. The file is read first for its model and tokens (a file that fails
 * validation is left to the batch's own validation); the returned check then runs synchronously
 * just before the batch is made, so two creates at once cannot both slip under the limit.
 */
export async function queueCheck(
  ctx: RouteContext,
  file: FileRecord,
  endpoint: string,
): Promise<() => EnqueuedEstimate | undefined> {
  const config = ctx.config();
  const none = (): undefined => undefined;
  if (config.provider !== 'azure' || !config.azure?.failFastTokenLimit) return none;
  const checked = await validateInput({
    path: ctx.store.dataPath(file.id),
    bytes: file.bytes,
    endpoint,
    limits: config.limits,
    plan: {
      validatingMs: 0,
      finalizingMs: 0,
      cancellingMs: 0,
      windowMs: 0,
      rowsPerSecond: null,
      rowErrors: {},
      seed: 0,
    },
    batchSeq: 0,
  });
  if (!checked.ok) return none;
  const { model, promptTokens } = checked;
  const retryAfter = config.azure.failFastRetryAfterSeconds;
  return () => {
    const limit = ctx.engine.tokenLimitOf(model);
    if (limit === undefined || ctx.engine.enqueuedTokens(model, Date.now()) + promptTokens <= limit)
      return { model, promptTokens };
    throw new ApiError(400, tokenLimitMessage(model, limit), {
      param: null,
      code: 'token_limit_exceeded',
      ...(retryAfter !== undefined ? { headers: { 'retry-after': String(retryAfter) } } : {}),
    });
  };
}
