// Tracing with @temporalio/interceptors-opentelemetry (the plugin's `tracing` option): a job's
// workflows, its chunks' workflows and every activity land in one trace, and each OpenAI call is a
// span under its activity with the batch id as an attribute. The spans go to the real OpenTelemetry
// SDK's in-memory exporter in this process.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, startJobEnv, writeChatInput, type JobEnv } from '../support/job-env.ts';

describe('tracing (OpenTelemetry)', () => {
  let env: JobEnv;
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  const provider = new BasicTracerProvider();
  beforeAll(async () => {
    provider.addSpanProcessor(processor);
    provider.register({ contextManager: new AsyncLocalStorageContextManager() });
    env = await startJobEnv('tracing');
  });
  afterAll(async () => {
    await env?.close();
    await provider.shutdown();
  });

  it("one trace spans the job's workflows and activities; OpenAI calls are spans with their batch ids", async () => {
    const jobId = `traced-${Date.now()}`;
    const inputUri = await writeChatInput(env, 300, { file: 'traced.jsonl' });
    const worker = await env.createWorker({ tracing: { spanProcessor: processor } });
    const summary = await worker.runUntil(async () => {
      const handle = await startBatchJob(
        env.conn.client,
        { jobId, inputUri, endpoint: '/v1/chat/completions', wait: FAST_WAIT, limits: { maxRequests: 100 } },
        { taskQueue: env.taskQueue },
      );
      return await handle.result();
    });
    expect(summary.status).toBe('completed');
    expect(summary.batchIds).toHaveLength(3);
    await processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    const jobSpan = spans.find((s) => s.name === 'RunWorkflow:openAIBatchJob');
    expect(jobSpan, spans.map((s) => s.name).join(', ')).toBeDefined();
    const traceId = jobSpan!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const names = (list: readonly ReadableSpan[]) => new Set(list.map((s) => s.name));
    // The job's workflow, its three chunk workflows and the activities of both, in the job's trace.
    expect(inTrace.filter((s) => s.name === 'RunWorkflow:openAIBatchChunk')).toHaveLength(3);
    for (const activity of ['planJob', 'uploadChunk', 'createBatch', 'waitForBatch', 'collectChunk', 'finalizeJob'])
      expect(names(inTrace), activity).toContain(`RunActivity:${activity}`);
    // Each batch's create is an OpenAI span in that trace, under its activity's span, naming the batch.
    const creates = inTrace.filter((s) => s.name === 'openai batches.create');
    expect(new Set(creates.map((s) => s.attributes['openai.batch.id']))).toEqual(new Set(summary.batchIds));
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    for (const create of creates) expect(byId.get(create.parentSpanId ?? '')?.name).toBe('RunActivity:createBatch');
    const polls = inTrace.filter((s) => s.name === 'openai batches.retrieve');
    expect(polls.length).toBeGreaterThanOrEqual(3);
    for (const poll of polls) expect(summary.batchIds).toContain(poll.attributes['openai.batch.id']);
    expect(inTrace.some((s) => s.name === 'openai files.content' && s.attributes['openai.file.id'])).toBe(true);
    // Everything the job did is in its one trace: no span of its activities started another.
    const activitySpans = spans.filter((s) => s.name.startsWith('RunActivity:') || s.name.startsWith('openai '));
    expect(activitySpans.filter((s) => s.spanContext().traceId !== traceId)).toEqual([]);
  });
});
