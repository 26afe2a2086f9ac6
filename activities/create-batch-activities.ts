import type { WorkerHealth } from '../workflows/types.ts';

/** What the activities need from the worker; built once per worker, never from workflow input. */
export interface BatchActivityDeps {
  /** The OpenAI-compatible base URL activities call, or undefined for the SDK default. */
  readonly openaiBaseUrl?: string | undefined;
  /** Whether an API key is configured; the key itself never leaves the worker's configuration. */
  readonly apiKeyConfigured: boolean;
  /** `file://` root under which every job keeps its files. */
  readonly storageRoot: string;
}

/**
 * Builds the plugin's activities from the worker's dependencies. No client is created at module
 * scope, so two workers in one process can point at different OpenAI endpoints.
 */
export function createBatchActivities(deps: BatchActivityDeps) {
  return {
    /** Reports what this worker is configured with, so that an operator can check a deployment. */
    checkWorkerHealth(): Promise<WorkerHealth> {
      return Promise.resolve({
        openaiBaseUrl: deps.openaiBaseUrl ?? 'https://api.openai.com/v1',
        apiKeyConfigured: deps.apiKeyConfigured,
        storageRoot: deps.storageRoot,
        nodeVersion: process.version,
      });
    },
  };
}

/** The activity interface workflows proxy (by type only). */
export type BatchActivities = ReturnType<typeof createBatchActivities>;
