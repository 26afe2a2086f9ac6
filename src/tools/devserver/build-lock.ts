// One Go build of a binary at a time on a machine. Test runs in several checkouts (or a test run
// beside CI) each find the binary missing on a cold machine; without a lock each starts its own
// multi-minute `go install` of the same module, and together they starve the machine.
import { randomUUID } from 'node:crypto';
import { link, open, readFile, rm, stat } from 'node:fs/promises';

/** How often a waiting process looks whether the build it waits for has ended. */
const POLL_MS = 2_000;

/**
 * How long a lock file without a pid counts as held. This code never leaves one (the pid is in the
 * file before the file is the lock), but an older version created the lock first and wrote the pid
 * after, and a lock read in between looked stale and was taken over: two builds at once.
 */
const UNWRITTEN_GRACE_MS = 30_000;

/**
 * Runs `build` holding the lock file `lockPath` (holding the pid). A process that finds the lock
 * held by a live process waits for it to go, calls `done()` and returns what it says when the
 * binary is there; a lock left by a dead process is taken over.
 */
export async function withBuildLock<T>(
  lockPath: string,
  done: () => Promise<T | undefined>,
  build: () => Promise<T>,
  onWait: (pid: number) => void,
): Promise<T> {
  let announced = false;
  for (;;) {
    if (await takeLock(lockPath)) {
      try {
        // Built by the holder we waited for, just before we took the lock.
        return (await done()) ?? (await build());
      } finally {
        await rm(lockPath, { force: true });
      }
    }
    const { holder, inode } = await lockHolder(lockPath);
    if (holder === 'gone') continue;
    if (holder === 'dead' || holder === 'unwritten-stale') {
      // Stale (its builder was killed): take it over, unless another waiter already has and the
      // file is now its live lock.
      if ((await stat(lockPath).catch(() => undefined))?.ino === inode) await rm(lockPath, { force: true });
      continue;
    }
    if (!announced && typeof holder === 'number') onWait(holder);
    announced ||= typeof holder === 'number';
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const found = await done();
    if (found !== undefined) return found;
  }
}

/**
 * Creates the lock with this pid already in it: the pid goes into a file of our own, which is then
 * hard-linked as the lock (a link fails if the lock exists), so no reader sees a lock without a pid.
 */
async function takeLock(lockPath: string): Promise<boolean> {
  // Finders in one process (and pids reused across containers) need names of their own.
  const mine = `${lockPath}.${process.pid}.${randomUUID()}`;
  const handle = await open(mine, 'wx');
  try {
    await handle.writeFile(String(process.pid));
  } finally {
    await handle.close();
  }
  try {
    await link(mine, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(mine, { force: true });
  }
}

type Holder = number | 'gone' | 'dead' | 'unwritten' | 'unwritten-stale';

/** The live holder's pid, or why there is none to wait for; and the lock file's inode. */
async function lockHolder(lockPath: string): Promise<{ holder: Holder; inode?: number }> {
  const info = await stat(lockPath).catch(() => undefined);
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === undefined || info === undefined) return { holder: 'gone' };
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    const stale = Date.now() - info.mtimeMs > UNWRITTEN_GRACE_MS;
    return { holder: stale ? 'unwritten-stale' : 'unwritten', inode: info.ino };
  }
  return { holder: isAlive(pid) ? pid : 'dead', inode: info.ino };
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
