import { spawn } from 'node:child_process';

/**
 * Starts a tiny detached watchdog that kills `childPid`'s process group once `parentPid` is gone.
 * Node cannot set PR_SET_PDEATHSIG, so without this a test runner or CLI killed with SIGKILL would
 * leave its Temporal server running forever. Returns a function that stops the watchdog.
 */
export function guardAgainstOrphan(childPid: number, parentPid: number = process.pid): () => void {
  const script =
    `while kill -0 ${parentPid} 2>/dev/null && kill -0 ${childPid} 2>/dev/null; do sleep 1; done; ` +
    `kill -TERM -${childPid} 2>/dev/null; sleep 5; kill -KILL -${childPid} 2>/dev/null; exit 0`;
  const watchdog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return () => {
    if (watchdog.pid !== undefined) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // Already gone: nothing to stop.
      }
    }
  };
}
