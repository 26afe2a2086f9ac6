// One Go build of a binary at a time on a machine. Test runs in several checkouts (or a test run
// beside CI) each find the binary missing on a cold machine; without a lock each starts its own
// multi-minute `go install` of the same module, and together they starve the machine.
import { open, readFile, rm } from 'node:fs/promises';

/** How often a waiting process looks whether the build it waits for has ended. */
const POLL_MS = 2_000;

/**
 * Runs `build` holding the lock file `lockPath` (created exclusively, holding the pid). A process
 * that finds the lock held by a live process waits for it to go, calls `done()` and returns what
 * it says when the binary is there; a lock left by a dead process is taken over.
 */
export async function withBuildLock<T>(
  lockPath: string,
  done: () => Promise<T | undefined>,
  build: () => Promise<T>,
  onWait: (pid: number) => void,
): Promise<T> {
  let announced = false;
  for (;;) {
    const handle = await open(lockPath, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return undefined;
      throw err;
    });
    if (handle) {
      try {
        await handle.writeFile(String(process.pid));
        await handle.close();
        // Built by the holder we waited for, just before we took the lock.
        return (await done()) ?? (await build());
      } finally {
        await rm(lockPath, { force: true });
      }
    }
    const holder = await lockHolder(lockPath);
    if (holder === undefined || !isAlive(holder)) {
      // Stale (its builder was killed): take it over.
      await rm(lockPath, { force: true });
      continue;
    }
    if (!announced) onWait(holder);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const found = await done();
    if (found !== undefined) return found;
  }
}

async function lockHolder(lockPath: string): Promise<number | undefined> {
  const text = await readFile(lockPath, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
