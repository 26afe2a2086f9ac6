import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

/** Describes in flight at once: quick for 500 chunks, gentle on the frontend. */
const DESCRIBE_CONCURRENCY = 8;

/** Input of `findEndedChunks`. */
export interface FindEndedChunksInput {
  readonly workflowIds: readonly string[];
}

/** Input of `terminateChunks`. */
export interface TerminateChunksInput {
  readonly workflowIds: readonly string[];
  readonly reason: string;
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
    /**
     * Describes every listed chunk workflow, a few at a time, heartbeating after each describe so
     * that a scan of 500 chunks is never silent for longer than one call; stops on cancellation.
     */
    async findEndedChunks(input: FindEndedChunksInput): Promise<EndedChunk[]> {
      const context = Context.current();
      const client = context.client;
      const ended = Array.from<EndedChunk | undefined>({ length: input.workflowIds.length });
      let next = 0;
      let described = 0;
      context.heartbeat({ described });
      const describeOne = async (workflowId: string): Promise<EndedChunk | undefined> => {
        try {
          const description = await client.workflow.getHandle(workflowId).describe();
          return description.status.name === 'RUNNING' ? undefined : { workflowId, status: description.status.name };
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          return { workflowId, status: 'NOT_FOUND' };
        }
      };
      const lane = async (): Promise<void> => {
        while (next < input.workflowIds.length) {
          if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
          const index = next++;
          ended[index] = await describeOne(input.workflowIds[index] as string);
          context.heartbeat({ described: ++described });
        }
      };
      await Promise.all(Array.from({ length: Math.min(DESCRIBE_CONCURRENCY, input.workflowIds.length) }, lane));
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      return ended.filter((e): e is EndedChunk => e !== undefined);
    },

    /**
     * Terminates the listed chunk workflows (a cancelled job's chunks that never finished their own
     * cancel path); one that has already ended is left as it is. The job then recovers their rows.
     */
    async terminateChunks(input: TerminateChunksInput): Promise<void> {
      const context = Context.current();
      for (const workflowId of input.workflowIds) {
        try {
          await context.client.workflow.getHandle(workflowId).terminate(input.reason);
        } catch (err) {
          // Ended meanwhile (its report, if any, reaches the job by signal): nothing to terminate.
          // Any other refusal (no permission, the server away) is logged, never retried here: the
          // cancelling job checks again and terminates again, so it cannot hang on this activity.
          if (!(err instanceof WorkflowNotFoundError)) {
            log.warn('could not terminate a cancelled chunk workflow; the job tries again at its next check', {
              workflowId,
              error: String(err),
            });
          }
        }
        context.heartbeat({ workflowId });
      }
    },
  };
}
