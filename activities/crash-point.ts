/** Places in the activities where a test can make the worker process die (SIGKILL). */
export type CrashPoint =
  | 'during-upload'
  | 'during-poll'
  | 'during-create'
  | 'after-create'
  | 'during-export'
  | 'import-before-commit'
  | 'import-after-commit'
  | 'between-not-submitted';

/** Called at each crash point; the default does nothing. Tests pass one that kills the process. */
export type CrashHook = (point: CrashPoint) => void;

/**
 * A hook that SIGKILLs this process the first time `point` is reached: what the worker installs
 * when `OPENAI_BATCH_TEST_CRASH_AT` is set. Test-only; production workers never set it.
 */
export function crashOnceAt(point: string | undefined): CrashHook | undefined {
  if (!point) return undefined;
  return (reached) => {
    if (reached === point) process.kill(process.pid, 'SIGKILL');
  };
}
