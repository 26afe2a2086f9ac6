import type { ChunkLimits } from '../../../common/job-types.ts';
import type { ProviderProfile } from './provider-profile.ts';

/** A job the worker's provider cannot run as configured (an endpoint it lacks, a limit above its own): no retry fixes it. */
export class ProviderMismatchError extends Error {
  override readonly name = 'ProviderMismatchError';
}

/** Refuses an endpoint the provider's Batch API does not offer, before anything is planned or uploaded. */
export function checkEndpointOffered(profile: ProviderProfile, endpoint: string): void {
  if ((profile.endpoints as readonly string[]).includes(endpoint)) return;
  throw new ProviderMismatchError(
    `endpoint ${endpoint} is not offered by ${profile.label}'s Batch API (it offers ${profile.endpoints.join(', ')}); ` +
      `use one of those, or set the worker's provider (OPENAI_BATCH_PROVIDER) if it is not ${profile.label}`,
  );
}

/**
 * The job's chunk limits with the provider's as defaults: an explicit limit wins, but one above the
 * provider's own is refused (every batch planned to it would fail at the service). The byte
 * default stays the planner's (190 MiB, under both readings of "200 MB").
 */
export function providerChunkLimits(profile: ProviderProfile, explicit: ChunkLimits | undefined): ChunkLimits {
  const limits: { -readonly [K in keyof ChunkLimits]: ChunkLimits[K] } = { ...explicit };
  for (const key of ['maxRequests', 'maxBytes', 'maxEmbeddingInputs'] as const) {
    const value = explicit?.[key];
    const most = key === 'maxBytes' ? BYTES_CAP : profile.limits[key];
    if (value !== undefined && value > most) {
      throw new ProviderMismatchError(
        `limits.${key} is ${value} but ${profile.label} accepts at most ${most} per batch; ` +
          `lower limits.${key} or leave it unset`,
      );
    }
  }
  limits.maxRequests ??= profile.limits.maxRequests;
  limits.maxEmbeddingInputs ??= profile.limits.maxEmbeddingInputs;
  return limits;
}

/** Every provider documents 200 MB per input file; the generous reading (MiB) is the most a job may ask for. */
const BYTES_CAP = 200 * 1024 * 1024;

/**
 * Refuses a model that is not one of the Azure resource's batch deployments (when the worker was
 * told them): Azure takes each line's `model` as a deployment name and fails the batch otherwise.
 */
export function checkBatchDeployment(
  profile: ProviderProfile,
  model: string,
  deployments: readonly string[] | undefined,
): void {
  if (profile.name !== 'azure' || !deployments || deployments.length === 0 || deployments.includes(model)) return;
  throw new ProviderMismatchError(
    `body.model "${model.slice(0, 100)}" is not a batch deployment of this Azure OpenAI resource ` +
      `(batch deployments: ${deployments.join(', ')}); set each line's model to the name of a Global-Batch ` +
      "or Data-Zone-Batch deployment, or add it to the worker's azure.batchDeployments (OPENAI_BATCH_AZURE_DEPLOYMENTS)",
  );
}
