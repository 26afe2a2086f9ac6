// The Grafana dashboard and the Prometheus alert rules query only what the worker exports: the
// project's metric list (the metrics proof test checks a real worker's scrape against it) and the
// SDK metric that test also finds on the scrape.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportedSeriesNames, METRIC_LIST } from '../../common/metric-names.ts';

const root = new URL('../../', import.meta.url);
const dashboard = JSON.parse(await readFile(new URL('deploy/grafana/dashboards/openai-batch.json', root), 'utf8')) as {
  uid: string;
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; query?: unknown }[] };
};
const rules = parse(await readFile(new URL('deploy/prometheus/alerts.yml', root), 'utf8')) as {
  groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
};

/** SDK metrics the proof test finds on a worker's scrape. */
const SDK_METRICS = ['temporal_workflow_completed'];
const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'on',
  'and',
  'or',
  'vector',
  'rate',
  'increase',
  'histogram_quantile',
  'le',
]);

/** The metric names a PromQL expression reads (identifiers outside `{…}` and `[…]`, less PromQL's words). */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|on)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\b/g)].map((m) => m[1]!).filter((w) => !PROMQL_WORDS.has(w));
}

const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));

describe('the Grafana dashboard and the alert rules', () => {
  it('query only metrics the worker exports', () => {
    const exported = new Set([...exportedSeriesNames(), ...SDK_METRICS]);
    const queried = new Set([...dashboardExprs, ...ruleExprs].flatMap(metricsIn));
    expect(queried.size).toBeGreaterThan(10);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
  });

  it("graph every one of the project's metrics", () => {
    const queried = new Set(dashboardExprs.flatMap(metricsIn).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    expect(METRIC_LIST.map((m) => m.name).filter((name) => !queried.has(name))).toEqual([]);
  });

  it('alert on failing rows, a batch past its deadline and no polls for an hour', () => {
    const alerts = Object.fromEntries(rules.groups.flatMap((g) => g.rules.map((r) => [r.alert, r])));
    expect(Object.keys(alerts).sort()).toEqual([
      'OpenAIBatchNoPolls',
      'OpenAIBatchPastDeadline',
      'OpenAIBatchRowsFailing',
    ]);
    expect(alerts['OpenAIBatchRowsFailing']!.expr).toMatch(/openai_batch_rows_total\{status!="succeeded"\}/);
    expect(alerts['OpenAIBatchPastDeadline']!.expr).toContain('openai_batch_polls_past_deadline_total');
    expect(alerts['OpenAIBatchNoPolls']!.expr).toMatch(/increase\(openai_batch_polls_total\[1h\]\)/);
    for (const r of Object.values(alerts)) expect(['warning', 'critical']).toContain(r.labels.severity);
  });

  it('filter by job name through a variable read from the exported labels', () => {
    const jobName = dashboard.templating.list.find((v) => v.name === 'job_name');
    expect(JSON.stringify(jobName?.query)).toContain('label_values(openai_batch_rows_total, job_name)');
    const labels = new Set(METRIC_LIST.flatMap((m) => m.labels));
    for (const expr of [...dashboardExprs, ...ruleExprs])
      for (const [, label] of expr.matchAll(/[{,]\s*(\w+)\s*[=!~]/g)) expect(labels, expr).toContain(label);
  });
});
