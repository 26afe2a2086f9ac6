// The runtime is process-global, so each case runs in a child process of its own: the CLI's
// embedded workers and the plugin option install it with the Prometheus endpoint, and a runtime
// already running without metrics is refused with the fix rather than exporting nothing.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/tools/devserver/free-port.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs an ES module snippet with Node in the repository; resolves with its exit code and output. */
function runSnippet(code: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (exitCode) => resolve({ code: exitCode, out }));
  });
}

const scrapeAndPrint = (address: string) => `
  const text = await (await fetch('http://${address}/metrics')).text();
  console.log('SCRAPE-OK ' + text.length);
  process.exit(0);`;

describe('installing the runtime with metrics', () => {
  it("the CLI's embedded worker runtime serves /metrics when OPENAI_BATCH_METRICS_ADDRESS is set", async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { code, out } = await runSnippet(
      `const { installQuietRuntime } = await import('./src/tools/cli/worker-runtime.ts');
       installQuietRuntime('WARN', { ownSigint: true });
       ${scrapeAndPrint(address)}`,
      { OPENAI_BATCH_METRICS_ADDRESS: address },
    );
    expect(out).toContain('SCRAPE-OK');
    expect(code).toBe(0);
  });

  it('the plugin option installs it before any connection', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { code, out } = await runSnippet(
      `const { OpenAIBatchPlugin } = await import('./src/index.ts');
       new OpenAIBatchPlugin({ metricsAddress: '${address}', storageRoot: '/tmp/unused' });
       // A second plugin asking for the same address keeps the runtime.
       new OpenAIBatchPlugin({ metricsAddress: '${address}', storageRoot: '/tmp/unused' });
       ${scrapeAndPrint(address)}`,
    );
    expect(out).toContain('SCRAPE-OK');
    expect(code).toBe(0);
  });

  it('a runtime already running without metrics is refused, naming the fix', async () => {
    const { out } = await runSnippet(
      `const { Runtime } = await import('@temporalio/worker');
       const { installWorkerRuntime } = await import('./src/index.ts');
       Runtime.instance();
       try { installWorkerRuntime({ metricsAddress: '127.0.0.1:9464' }); console.log('NO-ERROR'); }
       catch (err) { console.log('REFUSED ' + err.message); }
       // Without metrics asked, the running runtime is kept.
       installWorkerRuntime({});
       console.log('KEPT');
       process.exit(0);`,
    );
    expect(out).toMatch(
      /REFUSED metrics at 127\.0\.0\.1:9464 need the Temporal runtime installed with them.*before NativeConnection\.connect/,
    );
    expect(out).toContain('KEPT');
  });
});
