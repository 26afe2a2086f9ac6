// The plugin's tracing and a prebuilt workflow bundle do not mix: the bundle lacks the tracing
// interceptors, so the worker is refused with one line instead of losing the workflow spans.
import type { WorkerOptions } from '@temporalio/worker';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { OpenAIBatchPlugin } from '../../src/plugin.ts';

const base = { taskQueue: 'q', workflowBundle: { code: '' } } as unknown as WorkerOptions;

describe('OpenAIBatchPlugin with a prebuilt workflow bundle', () => {
  it('refuses tracing, naming the fix', () => {
    const plugin = new OpenAIBatchPlugin({
      storageRoot: 'file:///tmp/unused',
      tracing: { spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()) },
    });
    expect(() => plugin.configureWorker(base)).toThrow(/tracing.*drop `workflowBundle`/);
  });

  it('takes the bundle as is without tracing', () => {
    const plugin = new OpenAIBatchPlugin({ storageRoot: 'file:///tmp/unused' });
    const configured = plugin.configureWorker(base);
    expect(configured.workflowBundle).toBe(base.workflowBundle);
    expect(configured.workflowsPath).toBeUndefined();
  });
});
