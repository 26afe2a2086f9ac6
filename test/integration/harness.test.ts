import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes.ts';
import { healthCheckWorkflow } from '../../workflows/health-check.ts';
import { connectToDevServer, devServer, uniqueTaskQueue } from '../support/temporal.ts';

describe('the test harness on a real Temporal dev server', () => {
  let conn: Awaited<ReturnType<typeof connectToDevServer>>;
  beforeAll(async () => {
    conn = await connectToDevServer();
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('a worker registered through OpenAIBatchPlugin executes a workflow', async () => {
    const taskQueue = uniqueTaskQueue('harness');
    const worker = await Worker.create({
      connection: conn.nativeConnection,
      namespace: devServer().namespace,
      taskQueue,
      plugins: [
        new OpenAIBatchPlugin({ storageRoot: '/tmp/openai-batch-harness', openaiBaseUrl: 'http://127.0.0.1:1/v1' }),
      ],
    });
    const workflowId = `harness-${Date.now()}`;
    const health = await worker.runUntil(
      conn.client.workflow.execute(healthCheckWorkflow, { taskQueue, workflowId, args: [{ requestedBy: 'vitest' }] }),
    );
    expect(health).toMatchObject({
      openaiBaseUrl: 'http://127.0.0.1:1/v1',
      storageRoot: '/tmp/openai-batch-harness',
      nodeVersion: process.version,
      // A base URL that is no known service: OpenAI's shapes, the `compatible` profile.
      provider: 'compatible',
    });
    // The server recorded a completed run with the activity in its history.
    const history = await conn.client.workflow.getHandle(workflowId).fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    expect(types).toContain(10); // ACTIVITY_TASK_SCHEDULED
    expect(types.at(-1)).toBe(2); // WORKFLOW_EXECUTION_COMPLETED
  });

  it('registers the project search attributes on the server', async () => {
    const listed = await conn.client.connection.operatorService.listSearchAttributes({
      namespace: devServer().namespace,
    });
    for (const key of SEARCH_ATTRIBUTE_KEYS) expect(Object.keys(listed.customAttributes ?? {})).toContain(key.name);
  });

  it("the server's Web UI answers HTTP 200", async () => {
    const res = await fetch(devServer().uiUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html');
  });
});
