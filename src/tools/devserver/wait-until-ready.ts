import { Connection } from '@temporalio/client';

/** Resolves when `check` resolves; retries every `intervalMs` until `deadline`, or `isDead()` says stop. */
export async function retryUntil<T>(
  what: string,
  check: () => Promise<T>,
  opts: { deadline: number; intervalMs?: number; isDead?: () => string | undefined },
): Promise<T> {
  let lastError: unknown;
  for (;;) {
    const dead = opts.isDead?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      return await check();
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= opts.deadline) {
      throw new Error(`${what}: not ready before the deadline; last error: ${String(lastError)}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

/**
 * Ready means the frontend answers, the namespace exists and every expected search attribute is
 * registered: a server that only accepts TCP connections would still fail the first workflow start.
 */
export async function checkTemporalReady(
  address: string,
  namespace: string,
  searchAttributes: readonly string[],
): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
    if (searchAttributes.length > 0) {
      const listed = await connection.operatorService.listSearchAttributes({ namespace });
      const known = new Set(Object.keys(listed.customAttributes ?? {}));
      const missing = searchAttributes.filter((name) => !known.has(name));
      if (missing.length > 0) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
    }
  } finally {
    await connection.close();
  }
}

/** The Web UI is ready when its index page answers HTTP 200. */
export async function checkUiReady(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`UI answered HTTP ${res.status}`);
}
