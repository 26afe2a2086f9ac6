// Defaults of the job's options, as pure functions: shared by the workflow and the client helper.
import type { JobInput, WaitOptions } from './job-types.ts';

export const DEFAULT_WAIT: Required<WaitOptions> = {
  minPollMs: 60_000,
  maxPollMs: 3_600_000,
  validatingPollMs: 2_000,
  progressRefreshMs: 7_200_000,
  tokenLimitBackoffMs: 600_000,
  heartbeatTimeoutMs: 60_000,
  maxTokenLimitRetries: 36,
  webhooks: false,
  recoveryWaitMs: 3_600_000,
};

/**
 * Wait options for a job against the local emulator (`startEmulator`, `openai-batch emulator` or
 * `dev`), where a batch ends in seconds: the defaults poll it at the real API's pace (60 s first).
 * `openai-batch run` uses these when it starts the emulator. Not for OpenAI itself, where a batch
 * takes minutes to hours: polling it every few seconds only lengthens the chunk's history.
 */
export const EMULATOR_WAIT: WaitOptions = {
  minPollMs: 1_000,
  maxPollMs: 5_000,
  validatingPollMs: 500,
  progressRefreshMs: 3_000,
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

/**
 * Time an output file must outlive the batch's end: the wait notices the end within `maxPollMs`;
 * this covers the download and a worker restart.
 */
export const FILE_TTL_HEADROOM_MS = 1_800_000;

/** One problem with the job's options taken together, by field path. */
export interface OptionIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/**
 * What is wrong with the wait options and the file TTL taken together (each alone is checked by
 * the input schema): empty when they can work.
 */
export function optionIssues(input: {
  readonly wait?: WaitOptions | undefined;
  readonly openaiFileTtlSeconds?: number | undefined;
}): OptionIssue[] {
  const wait = resolveWait(input.wait);
  const issues: OptionIssue[] = [];
  if (wait.minPollMs > wait.maxPollMs) {
    issues.push({
      path: ['wait', 'minPollMs'],
      message: pollBoundsReversedMessage(wait.minPollMs, wait.maxPollMs),
    });
  }
  const ttlSeconds = input.openaiFileTtlSeconds ?? DEFAULT_OPENAI_FILE_TTL_SECONDS;
  // With webhooks the fallback polls stretch up to twice maxPollMs (see WaitOptions.webhooks).
  const maxPollMs = wait.maxPollMs * (wait.webhooks ? 2 : 1);
  const neededSeconds = Math.ceil((maxPollMs + FILE_TTL_HEADROOM_MS) / 1000);
  if (ttlSeconds < neededSeconds) {
    issues.push({
      path: ['openaiFileTtlSeconds'],
      message: fileTtlTooShortMessage(ttlSeconds, maxPollMs, neededSeconds),
    });
  }
  return issues;
}

function pollBoundsReversedMessage(minPollMs: number, maxPollMs: number): string {
  return (
    `is ${minPollMs} ms, longer than wait.maxPollMs (${maxPollMs} ms): ` +
    'lower wait.minPollMs or raise wait.maxPollMs'
  );
}

function fileTtlTooShortMessage(ttlSeconds: number, maxPollMs: number, neededSeconds: number): string {
  return (
    `is ${ttlSeconds} s, but a finished batch is noticed up to wait.maxPollMs (${Math.round(maxPollMs / 1000)} s) ` +
    'later and its output must still be there to download: ' +
    `set openaiFileTtlSeconds to at least ${neededSeconds} (wait.maxPollMs plus ${FILE_TTL_HEADROOM_MS / 1000} s), ` +
    'or lower wait.maxPollMs'
  );
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

/**
 * The name a chunk uploads its input under at OpenAI: its workflow id made a file name
 * (`<jobId>_r<round>_c<chunk>.jsonl`). Job-unique, so a retry or a recovery finds the file by it.
 */
export function chunkInputFilename(chunkWorkflowId: string): string {
  return `${chunkWorkflowId.replaceAll('/', '_')}.jsonl`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
