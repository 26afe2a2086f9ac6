import type { ProviderProfile } from './provider-profile.ts';

/** One entry of a failed batch's `errors.data`, as collect receives it. */
export interface BatchErrorLike {
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly line?: number | null | undefined;
  readonly param?: string | null | undefined;
}

/**
 * A failed batch's error as the rows should carry it: Azure's `model_not_found` (the line's model
 * is no batch deployment of the resource) becomes one line naming the model and the fix, with
 * Azure's own words after it. Other errors pass unchanged.
 */
export function explainBatchError<E extends BatchErrorLike>(profile: ProviderProfile, entry: E): E {
  if (profile.name !== 'azure' || entry.code !== 'model_not_found') return entry;
  const model = /'([^']{1,200})'/.exec(entry.message ?? '')?.[1];
  const named = model ? `body.model "${model}"` : "the lines' body.model";
  return {
    ...entry,
    message:
      `${named} is not a batch deployment of this Azure OpenAI resource: set each line's model to the name of ` +
      'a Global-Batch or Data-Zone-Batch deployment (list them in azure.batchDeployments to check before upload)' +
      (entry.message ? `. Azure: ${entry.message}` : ''),
  };
}
