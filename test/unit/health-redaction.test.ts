// The health check reports a worker's configuration into workflow history: nothing secret-shaped
// (userinfo, query strings, token-like path segments) may reach it.
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { redactUrl } from '../../activities/worker-health.ts';
import { healthCheckWorkflow } from '../../workflows/health-check.ts';
import { connectToDevServer, devServer, uniqueTaskQueue } from '../support/temporal.ts';

/** Every string and byte array (payload data decoded as UTF-8) of a history, joined. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return '';
}

const SECRETS = ['gateway-user', 'hunter2-password', 'sk-query-secret-0123456789', 'tok3n0a1b2c3d4e5f6a7b8c9d0'];

describe('the health check keeps secrets out of history', () => {
  let conn: Awaited<ReturnType<typeof connectToDevServer>>;
  beforeAll(async () => {
    conn = await connectToDevServer();
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('a base URL with userinfo, a token path segment and an api-key query leaves none of them in the history', async () => {
    const taskQueue = uniqueTaskQueue('health-redaction');
    const worker = await Worker.create({
      connection: conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue,
      plugins: [
        new OpenAIBatchPlugin({
          storageRoot: '/tmp/openai-batch-health-redaction',
          openaiBaseUrl:
            'https://gateway-user:hunter2-password@gateway.example.com:8443/openai/tok3n0a1b2c3d4e5f6a7b8c9d0/v1?api-key=sk-query-secret-0123456789#frag',
          openaiApiKey: 'sk-test-not-a-secret',
        }),
      ],
    });
    const workflowId = `health-redaction-${Date.now()}`;
    const health = await worker.runUntil(
      conn.client.workflow.execute(healthCheckWorkflow, { taskQueue, workflowId, args: [{ requestedBy: 'vitest' }] }),
    );
    // Still useful to an operator: the host, port and the harmless path segments.
    expect(health.openaiBaseUrl).toBe('https://gateway.example.com:8443/openai/***/v1');
    expect(health.storageRoot).toBe('/tmp/openai-batch-health-redaction');
    expect(health.apiKeyConfigured).toBe(true);
    const text = historyText(await conn.client.workflow.getHandle(workflowId).fetchHistory());
    expect(text).toContain('gateway.example.com');
    for (const secret of [...SECRETS, 'sk-test-not-a-secret']) expect(text).not.toContain(secret);
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://127.0.0.1:1/v1', 'http://127.0.0.1:1/v1'],
    ['https://api.openai.com/v1', 'https://api.openai.com/v1'],
    ['https://me:pw@host.example/v1/', 'https://host.example/v1/'],
    ['https://host.example/v1?key=abc', 'https://host.example/v1'],
    ['https://host.example/keys/sk-proj-abcdefghijklmnop/v1', 'https://host.example/keys/***/v1'],
    ['https://my-resource.openai.azure.com/openai/v1/', 'https://my-resource.openai.azure.com/openai/v1/'],
    ['/var/lib/openai-batch', '/var/lib/openai-batch'],
    ['not a url at all', '(unparseable URL)'],
  ])('%s is reported as %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
