// The README's search-attribute commands, run as written on a server that has none of them; and
// what a user sees before running them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { findTemporalCli } from '../../src/tools/devserver/find-temporal-cli.ts';
import { startDevServer, type DevServer } from '../../src/tools/devserver/start-dev-server.ts';
import {
  SearchAttributesMissingError,
  searchAttributeCreateCommand,
  searchAttributeProblems,
} from '../../src/setup/search-attribute-setup.ts';
import { readmeBlockAfter } from '../support/readme-blocks.ts';
import { runProcess } from '../support/run-cli.ts';
import { until } from '../support/until.ts';
import { spawnWorker } from '../support/worker-process.ts';

describe('search attributes on a cluster that lacks them', () => {
  let server: DevServer;
  let connection: Connection;
  let client: Client;
  let dir: string;
  const input = { endpoint: '/v1/chat/completions', inputUri: 'file:///tmp/none.jsonl', name: 'bare' } as const;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bare-cluster-'));
    server = await startDevServer({ ui: false, searchAttributes: [], allowGoBuild: false, allowDownload: false });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('startBatchJob says what is missing and how to register it; the worker warns at start', async () => {
    const err = await startBatchJob(client, input, { taskQueue: 'bare', workflowId: `bare-${Date.now()}` }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SearchAttributesMissingError);
    const message = (err as Error).message;
    expect(message).toContain(
      'Temporal namespace "default" lacks the search attributes the job workflow sets: OpenAIBatchJobStatus (Keyword), OpenAIBatchProgress (Int)',
    );
    expect(message).toContain(searchAttributeCreateCommand('default'));

    const worker = spawnWorker({ TEMPORAL_ADDRESS: server.address, OPENAI_BATCH_STORAGE_ROOT: join(dir, 'storage') });
    try {
      // A loaded machine takes a while to start a Node process with the native bridge: wait for the outcome.
      await until(
        'the worker to start polling',
        () => Promise.resolve(worker.output().includes('worker polling')),
        150_000,
      );
      expect(worker.output()).toContain('warning: Temporal namespace "default" lacks the search attributes');
      expect(worker.output()).toContain('worker polling');
    } finally {
      await worker.stop();
    }
  });

  it("the README's commands register every attribute with its type, and then jobs start", async () => {
    expect(
      readmeBlockAfter('doc-test: search-attributes')
        .replace(/ \\\n\s+/g, ' ')
        .trim(),
    ).toBe(searchAttributeCreateCommand('default'));
    const cli = await findTemporalCli({ allowGoBuild: false });
    const script = join(dir, 'register.sh');
    await writeFile(
      script,
      `set -eu\n${readmeBlockAfter('doc-test: search-attributes').replace(/^temporal /gm, `"${cli.path}" `)}`,
    );
    const out = await runProcess('/bin/sh', [script], { env: { ...process.env, TEMPORAL_ADDRESS: server.address } });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(await searchAttributeProblems(connection, 'default')).toEqual([]);
    const handle = await startBatchJob(client, input, { taskQueue: 'bare', workflowId: `bare-ok-${Date.now()}` });
    await handle.terminate('no worker serves this test');
  });
});
