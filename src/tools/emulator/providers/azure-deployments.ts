import type { EmulatorConfig } from '../config.ts';
import type { BatchErrorEntry } from '../state/records.ts';

/**
 * Azure takes a line's `model` as the name of a batch deployment of the resource: in Azure mode
 * with `azure.deployments` set, any other model fails the batch's validation, as Azure's does.
 */
export function azureDeploymentCheck(config: EmulatorConfig, model: string): BatchErrorEntry | null {
  const deployments = config.azure?.deployments ?? [];
  if (config.provider !== 'azure' || deployments.length === 0 || deployments.includes(model)) return null;
  return {
    code: 'model_not_found',
    message: `The provided model deployment '${model}' does not exist, or is not a Global-Batch or Data-Zone-Batch deployment of this resource.`,
    param: 'body.model',
    line: null,
  };
}
