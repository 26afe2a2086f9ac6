// One Go build of a binary at a time on a machine. Test runs in several checkouts (or a test run
// beside CI) each find the binary missing on a cold machine; without a lock each starts its own
// multi-minute `go install` of the same module, and together they starve the machine.
import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';

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
    const mine = await takeLock(lockPath);
    if (mine) {
      try {
        // Built by the holder we waited for, just before we took the lock.
        return (await done()) ?? (await build());
      } finally {
        // Only our own lock: a waiter that wrongly took it over has one of its own there now.
        if ((await readFile(lockPath, 'utf8').catch(() => '')) === mine) await rm(lockPath, { force: true });
      }
    }
    const { holder } = await lockHolder(lockPath);
    if (holder === 'gone') continue;
    if (holder === 'dead' || holder === 'unwritten-stale') {
      await removeStale(lockPath);
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
async function takeLock(lockPath: string): Promise<string | undefined> {
  // Finders in one process (and pids reused across containers) need names of their own; the
  // token in the lock tells its holder the lock is still its own.
  const token = randomUUID();
  const mine = `${lockPath}.${process.pid}.${token}`;
  const content = `${process.pid} ${token}`;
  const handle = await open(mine, 'wx');
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  try {
    await link(mine, lockPath);
    return content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * Removes a stale lock: moved aside in one step (a rename takes whichever file is there), then
 * deleted. If another waiter took the lock over in between, its fresh lock is the one moved: both
 * then build once each, which costs time, never a wrong binary (`go install` replaces the file
 * whole). Putting a live lock back could revive one its holder has since released, and leave the
 * waiters waiting on a live pid for ever; so it is not put back.
 */
async function removeStale(lockPath: string): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomUUID()}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // Gone already: another waiter moved it.
  }
  await rm(aside, { force: true });
}

type Holder = number | 'gone' | 'dead' | 'unwritten' | 'unwritten-stale';

/** The live holder's pid, or why there is none to wait for. */
async function lockHolder(lockPath: string): Promise<{ holder: Holder }> {
  const info = await stat(lockPath).catch(() => undefined);
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === undefined || info === undefined) return { holder: 'gone' };
  // "<pid> <token>", or "<pid>" as older code wrote it.
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    const stale = Date.now() - info.mtimeMs > UNWRITTEN_GRACE_MS;
    return { holder: stale ? 'unwritten-stale' : 'unwritten' };
  }
  return { holder: isAlive(pid) ? pid : 'dead' };
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
