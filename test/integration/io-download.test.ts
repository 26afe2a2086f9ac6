// A gateway between the worker and OpenAI that re-chunks a download (no content-length) and cuts it
// short ends the body cleanly: the worker must not store that half file as the batch's output.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { openStorage } from '../../src/storage/index.ts';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { Worker } from '@temporalio/worker';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';
import { devServer } from '../support/temporal.ts';

/**
 * A pass-through HTTP proxy to `target`, except that the first `cut` file downloads lose their
 * content-length and end, cleanly, at the last line break before half their bytes.
 */
async function truncatingProxy(
  target: string,
  cut: number,
): Promise<{ baseURL: string; cutsDone: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let cutsDone = 0;
  const server: Server = createServer((req, res) => {
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        const isContent = /\/files\/[^/]+\/content$/.test(req.url ?? '') && up.statusCode === 200;
        if (!isContent || cutsDone >= cut) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        cutsDone++;
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const whole = Buffer.concat(chunks);
          const at = whole.lastIndexOf(0x0a, Math.floor(whole.length / 2));
          const { 'content-length': _dropped, ...headers } = up.headers;
          res.writeHead(200, headers);
          res.end(whole.subarray(0, at + 1));
        });
      },
    );
    req.pipe(forward);
    forward.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}${upstream.pathname}`,
    cutsDone: () => cutsDone,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('downloads cut short', () => {
  let env: JobEnv;
  let proxy: Awaited<ReturnType<typeof truncatingProxy>>;
  beforeAll(async () => {
    env = await startJobEnv('io-download');
    proxy = await truncatingProxy(env.emulator.baseURL, 1);
  });
  afterAll(async () => {
    await proxy?.close();
    await env?.close();
  });

  it('an output file whose body ends early without content-length is downloaded again, never stored short', async () => {
    const jobId = `io-download-${Date.now()}`;
    const inputUri = await writeChatInput(env, 300, { file: 'download.jsonl' });
    const worker = await Worker.create({
      connection: env.conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue: env.taskQueue,
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: env.storageRoot,
          openaiBaseUrl: proxy.baseURL,
          openaiApiKey: 'sk-test-not-a-secret',
        }),
      ],
    });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(proxy.cutsDone()).toBe(1);
    expect(summary.status).toBe('completed');
    // The stored output is the emulator's file byte for byte, and every row succeeded in round 1.
    const batchId = summary.batchIds[0] ?? '';
    const storage = openStorage(env.storageRoot);
    const outputs = (await storage.list(storage.jobUri(jobId, 'r1', 'c0'))).filter((u) =>
      u.endsWith(`${batchId}-output.jsonl`),
    );
    expect(outputs).toHaveLength(1);
    const rows = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    expect(tally(rows).statuses).toEqual({ succeeded: 300 });
    expect(summary.rounds).toHaveLength(1);
    const outputLines = await readJsonlFile(env.storageRoot, outputs[0] as string);
    expect(outputLines).toHaveLength(300);
  });
});
