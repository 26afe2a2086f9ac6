// A job of 2,000 tiny chunks (issue 11): its state, its continue-as-new input, its finalize input
// and its summary stay under a bound that does not depend on the chunk count. Reports the job's
// figures (largest payload, events per run, runs). JOB_SCALE_CHUNKS changes the size; it is the
// suite's longest file (test/support/longest-first-sequencer.ts starts it first).
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitJobSummary, startBatchJob } from '../../src/client/job-client.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, writeChatInput, type JobEnv } from '../support/job-env.ts';

const CHUNKS = Number(process.env['JOB_SCALE_CHUNKS'] ?? 2000);
const ROWS_PER_CHUNK = 2;
/** A bound that holds at any chunk count (Temporal's limit is 2 MiB per payload). */
const MAX_PAYLOAD_BYTES = 128 * 1024;

interface RunFigures {
  runId: string;
  events: number;
  largestPayloadBytes: number;
  largestPayloadEvent: string;
  /** Events by type (`timerStarted`, `upsertWorkflowSearchAttributes`, ...). */
  types: Record<string, number>;
}

/** Every run of the job, newest first: its history length and its largest payload (any event's). */
async function runFigures(client: Client, workflowId: string): Promise<RunFigures[]> {
  const runs: RunFigures[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    let largest = 0;
    let where = '';
    const types: Record<string, number> = {};
    for (const event of history.events ?? []) {
      for (const [name, attrs] of Object.entries(event)) {
        if (typeof attrs !== 'object' || attrs === null || !name.endsWith('EventAttributes')) continue;
        const type = name.slice(0, -'EventAttributes'.length);
        types[type] = (types[type] ?? 0) + 1;
        for (const key of ['input', 'result', 'details', 'lastCompletionResult'] as const) {
          const payloads = (attrs as Record<string, { payloads?: { data?: Uint8Array | null }[] } | undefined>)[key]
            ?.payloads;
          for (const p of payloads ?? []) {
            const size = p.data?.length ?? 0;
            if (size > largest) [largest, where] = [size, `${name}.${key}`];
          }
        }
      }
    }
    const first = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runs.push({
      runId: runId ?? '(latest)',
      events: history.events?.length ?? 0,
      largestPayloadBytes: largest,
      largestPayloadEvent: where,
      types,
    });
    runId = first?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

describe('a job of many tiny chunks', () => {
  let env: JobEnv;
  beforeAll(async () => {
    // One row in ten fails retryably in round 1: a retry round takes them.
    env = await startJobEnv('scale', { rowErrors: { server_error: 0.1 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it(`${CHUNKS} chunks, 100 in flight, one retry round: every row once, no payload grows with the chunk count`, async () => {
    const jobId = `scale-${CHUNKS}-${Date.now()}`;
    const rows = CHUNKS * ROWS_PER_CHUNK;
    const inputUri = await writeChatInput(env, rows);
    const worker = await env.createWorker();
    const handle = await startBatchJob(
      env.conn.client,
      {
        jobId,
        inputUri,
        endpoint: '/v1/chat/completions',
        limits: { maxRequests: ROWS_PER_CHUNK },
        maxActiveBatches: 100,
        maxRounds: 2,
        // Several runs: the continue-as-new input is one of the payloads measured.
        continueAsNewAfterEvents: 1_000,
        wait: { ...FAST_WAIT, progressRefreshMs: 60_000 },
      },
      { taskQueue: env.taskQueue },
    );
    const summary = await worker.runUntil(awaitJobSummary(handle));
    const runs = await runFigures(env.conn.client, jobId);
    const largest = Math.max(...runs.map((r) => r.largestPayloadBytes));
    const at = runs.find((r) => r.largestPayloadBytes === largest)?.largestPayloadEvent;
    const chunks = summary.rounds.reduce((n, r) => n + r.chunks, 0);
    const events = runs.reduce((n, r) => n + r.events, 0);
    const perChunk = (type: string) => (runs.reduce((n, r) => n + (r.types[type] ?? 0), 0) / chunks).toFixed(2);
    console.log(
      `[job-scale] ${CHUNKS} chunks, ${rows} rows: ${runs.length} runs (${runs.length - 1} continue-as-new), ` +
        `events per run ${runs
          .map((r) => r.events)
          .reverse()
          .join(', ')}, largest payload ${largest} B (${at}), ` +
        `rounds ${summary.rounds.map((r) => `${r.round}: ${r.chunks} chunks`).join(', ')}; ` +
        `job events per chunk ${(events / chunks).toFixed(2)} (workflow tasks ${perChunk('workflowTaskCompleted')}, ` +
        `signals ${perChunk('workflowExecutionSignaled')}, timers ${perChunk('timerStarted')}, ` +
        `upserts ${perChunk('upsertWorkflowSearchAttributes')}, activities ${perChunk('activityTaskScheduled')})`,
    );

    expect(summary.status).toBe('completed');
    expect(summary.rounds.map((r) => r.round)).toEqual([1, 2]);
    const results = await readJsonlFile<{ custom_id: string; status: string }>(env.storageRoot, summary.resultsUri);
    const { ids } = tally(results);
    expect(results).toHaveLength(rows);
    expect(ids.size).toBe(rows);
    expect(runs.length).toBeGreaterThan(1);
    expect(largest).toBeLessThan(MAX_PAYLOAD_BYTES);
  }, 3_600_000);
});
