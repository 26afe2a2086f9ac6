import { proxyActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../activities/create-batch-activities.ts';
import type { HealthCheckInput, WorkerHealth } from '../common/health-types.ts';

const { checkWorkerHealth } = proxyActivities<BatchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * Runs one activity on a worker of the task queue and returns its configuration: the quickest way
 * to prove that a worker with the plugin is polling and can reach its dependencies.
 */
export async function healthCheckWorkflow(_input: HealthCheckInput = {}): Promise<WorkerHealth> {
  return await checkWorkerHealth();
}
