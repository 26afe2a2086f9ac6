import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

/** Input of `findEndedChunks`. */
export interface FindEndedChunksInput {
  readonly workflowIds: readonly string[];
}

/** A chunk workflow that no longer runs. */
export interface EndedChunk {
  readonly workflowId: string;
  /** TERMINATED, FAILED, TIMED_OUT, CANCELLED, COMPLETED or NOT_FOUND. */
  readonly status: string;
}

/**
 * Activities that look at the job's own chunk workflows through the worker's Temporal client.
 * A chunk reports its end by signal; one that ends without reporting (terminated by an operator)
 * would otherwise leave its job waiting forever once the job has continued-as-new (the new run
 * holds no handle on children started by the old one).
 */
export function createChunkLivenessActivities() {
  return {
    async findEndedChunks(input: FindEndedChunksInput): Promise<EndedChunk[]> {
      const client = Context.current().client;
      const ended: EndedChunk[] = [];
      for (const workflowId of input.workflowIds) {
        try {
          const description = await client.workflow.getHandle(workflowId).describe();
          if (description.status.name !== 'RUNNING') ended.push({ workflowId, status: description.status.name });
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          ended.push({ workflowId, status: 'NOT_FOUND' });
        }
      }
      return ended;
    },
  };
}
