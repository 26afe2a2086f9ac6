// Defaults of the job's options, as pure functions: shared by the workflow and the client helper.
import type { JobInput, WaitOptions } from './job-types.ts';

export const DEFAULT_WAIT: Required<WaitOptions> = {
  minPollMs: 60_000,
  maxPollMs: 3_600_000,
  validatingPollMs: 2_000,
  progressRefreshMs: 7_200_000,
  tokenLimitBackoffMs: 600_000,
  heartbeatTimeoutMs: 60_000,
};

/** Default batches in flight per job. */
export const DEFAULT_MAX_ACTIVE_BATCHES = 10;
/** Default lifetime at OpenAI of the files a job uploads or has produced: 7 days. */
export const DEFAULT_OPENAI_FILE_TTL_SECONDS = 604_800;
/** Default rounds, counting the first. */
export const DEFAULT_MAX_ROUNDS = 3;

/** The wait options with every default filled in. */
export function resolveWait(wait: WaitOptions | undefined): Required<WaitOptions> {
  return { ...DEFAULT_WAIT, ...stripUndefined(wait ?? {}) };
}

/** The deadline as epoch milliseconds, or undefined. */
export function deadlineMs(input: Pick<JobInput, 'deadline'>): number | undefined {
  if (input.deadline === undefined) return undefined;
  return typeof input.deadline === 'number' ? input.deadline : Date.parse(input.deadline);
}

/** The id of the chunk workflow of a round: `<jobId>/r<round>/c<chunk>`. */
export function chunkWorkflowId(jobId: string, round: number, chunk: number): string {
  return `${jobId}/r${round}/c${chunk}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
