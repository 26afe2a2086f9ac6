import { describe, expect, it } from 'vitest';
import { exportedSeriesNames, METRIC_LIST } from '../../common/metric-names.ts';
import { pastDeadline, toSnapshot } from '../../activities/openai-batches.ts';
import { metricBuckets, prometheusTelemetry } from '../../src/metrics/telemetry.ts';
import { loadWorkerConfig } from '../../src/worker-config.ts';
import type OpenAI from 'openai';

describe("the project's metric list", () => {
  it('names every metric openai_batch_*, counters ending in _total, histograms in a unit', () => {
    expect(METRIC_LIST.length).toBeGreaterThanOrEqual(15);
    for (const m of METRIC_LIST) {
      expect(m.name).toMatch(/^openai_batch_[a-z_]+$/);
      if (m.kind === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).toMatch(/_(seconds|usd)$/);
    }
    expect(new Set(METRIC_LIST.map((m) => m.name)).size).toBe(METRIC_LIST.length);
  });

  it('labels by bounded values only: never a job id, batch id, file id or custom_id', () => {
    for (const m of METRIC_LIST) for (const label of m.labels) expect(label).not.toMatch(/(^|_)(id|ids|custom_id)$/);
  });

  it('gives every histogram its buckets, and the Prometheus exporter takes them', () => {
    const buckets = metricBuckets();
    for (const m of METRIC_LIST.filter((x) => x.kind === 'histogram')) expect(buckets[m.name]).toEqual(m.buckets);
    const telemetry = prometheusTelemetry('127.0.0.1:9464');
    expect(telemetry.metrics).toEqual({
      prometheus: { bindAddress: '127.0.0.1:9464', histogramBucketOverrides: buckets },
    });
    expect(exportedSeriesNames()).toContain('openai_batch_job_cost_usd_sum');
  });

  it('refuses a metrics address that is not host:port, naming the variable and an example', () => {
    expect(() => prometheusTelemetry('9464x')).toThrow(/OPENAI_BATCH_METRICS_ADDRESS.*not host:port.*0\.0\.0\.0:9464/);
    expect(() => prometheusTelemetry('http://0.0.0.0:9464')).toThrow(/not host:port/);
  });

  it('reads OPENAI_BATCH_METRICS_ADDRESS into the worker config (unset: no endpoint)', () => {
    const base = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
    expect(loadWorkerConfig({ ...base, OPENAI_BATCH_METRICS_ADDRESS: '0.0.0.0:9464' }).metricsAddress).toBe(
      '0.0.0.0:9464',
    );
    expect(loadWorkerConfig(base).metricsAddress).toBeUndefined();
  });
});

function batch(fields: Partial<OpenAI.Batches.Batch>): OpenAI.Batches.Batch {
  return {
    id: 'batch_1',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: 'file_1',
    completion_window: '24h',
    status: 'in_progress',
    created_at: 1_000,
    ...fields,
  };
}

describe('what a poll tells the metrics', () => {
  it("a terminal batch's snapshot carries when it ended; a running one's does not", () => {
    expect(toSnapshot(batch({ status: 'completed', completed_at: 1_500 })).endedAtMs).toBe(1_500_000);
    expect(toSnapshot(batch({ status: 'expired', expired_at: 87_400 })).endedAtMs).toBe(87_400_000);
    expect(toSnapshot(batch({ status: 'in_progress' })).endedAtMs).toBeUndefined();
  });

  it('a running batch is past its deadline after the job deadline or 24 h after its creation', () => {
    const running = toSnapshot(batch({ status: 'in_progress', created_at: 0 }));
    expect(pastDeadline(running, undefined, 3_600_000)).toBe(false);
    expect(pastDeadline(running, 3_000_000, 3_600_000)).toBe(true);
    expect(pastDeadline(running, undefined, 24 * 3_600_000)).toBe(true);
    const ended = toSnapshot(batch({ status: 'completed', created_at: 0, completed_at: 100 }));
    expect(pastDeadline(ended, 0, 48 * 3_600_000)).toBe(false);
  });
});

describe('the README documents the metrics', () => {
  it('lists every metric with its kind and labels, and the variable that turns them on', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const m of METRIC_LIST) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${m.name}\` |`));
      expect(row, m.name).toBeDefined();
      expect(row).toContain(`| ${m.kind} |`);
      for (const label of m.labels) expect(row).toContain(`\`${label}\``);
    }
    expect(readme).toContain('| `OPENAI_BATCH_METRICS_ADDRESS` |');
  });
});
