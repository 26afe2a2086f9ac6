// findEndedChunks describes many chunk workflows on the real dev server; it must heartbeat as it
// goes, so that a heartbeat timeout shorter than the whole scan does not kill it.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChunkLivenessActivities,
  type EndedChunk,
  type FindEndedChunksInput,
} from '../../activities/chunk-liveness.ts';
import { connectToDevServer, uniqueTaskQueue } from '../support/temporal.ts';

const liveness = createChunkLivenessActivities();
const findEndedChunks = (input: FindEndedChunksInput): Promise<EndedChunk[]> => liveness.findEndedChunks(input);

describe('findEndedChunks against the real dev server', () => {
  let conn: Awaited<ReturnType<typeof connectToDevServer>>;
  beforeAll(async () => {
    conn = await connectToDevServer();
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('describing 60 chunk workflows heartbeats as it goes and reports exactly the ended ones', async () => {
    // A task queue no worker polls: the started workflows stay RUNNING until terminated.
    const taskQueue = uniqueTaskQueue('io-liveness');
    const prefix = `io-liveness-${Date.now()}`;
    const running: string[] = [];
    const terminated: string[] = [];
    for (let i = 0; i < 10; i++) {
      const workflowId = `${prefix}/r1/c${i}`;
      await conn.client.workflow.start('openAIBatchChunk', { taskQueue, workflowId, args: [{}] });
      (i % 2 === 0 ? running : terminated).push(workflowId);
    }
    for (const id of terminated)
      await conn.client.workflow.getHandle(id).terminate('test: an operator terminated this chunk');
    const missing = Array.from({ length: 50 }, (_, i) => `${prefix}/r1/c${100 + i}`);
    const ids = [...running, ...terminated, ...missing];

    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 1_000 }, { client: conn.client });
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);
    const ended: EndedChunk[] = await env.run(findEndedChunks, { workflowIds: ids });

    const byId = new Map(ended.map((e) => [e.workflowId, e.status]));
    for (const id of running) expect(byId.has(id)).toBe(false);
    for (const id of terminated) expect(byId.get(id)).toBe('TERMINATED');
    for (const id of missing) expect(byId.get(id)).toBe('NOT_FOUND');
    expect(ended).toHaveLength(terminated.length + missing.length);
    // At least one heartbeat per describe, so no stretch of the scan goes unreported.
    expect(heartbeats).toBeGreaterThanOrEqual(ids.length);

    for (const id of running) await conn.client.workflow.getHandle(id).terminate('test cleanup');
  });

  it('a cancelled scan stops describing and rethrows the cancellation', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `io-liveness-cancel-${Date.now()}/r1/c${i}`);
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 1_000 }, { client: conn.client });
    let heartbeats = 0;
    env.on('heartbeat', () => {
      if (++heartbeats === 5) env.cancel();
    });
    await expect(env.run(findEndedChunks, { workflowIds: ids })).rejects.toThrow();
    // Stopped soon after the cancel: far fewer describes than ids.
    expect(heartbeats).toBeLessThan(ids.length);
  });
});
