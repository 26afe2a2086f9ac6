// A job across hosts: two worker processes with their own working directories and no shared disk,
// one s3:// root on a real MinIO server. One worker is SIGKILLed mid-job; the other finishes it.
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJobInputFile } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { devServer } from '../support/temporal.ts';
import { FAST_WAIT, readJsonlFile, startJobEnv, tally, type JobEnv } from '../support/job-env.ts';
import { runCli } from '../support/run-cli.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';
import { until } from '../support/until.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';

const ROWS = 600;
const CHUNKS = 6;

/** Every string and byte array (payload data decoded as UTF-8) of a history, joined. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(historyText).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(historyText).join('\n');
  return '';
}

describe('a job on two hosts sharing only an s3:// root', () => {
  let s3: TestS3;
  let env: JobEnv;
  const dirs: string[] = [];
  beforeAll(async () => {
    s3 = await startTestS3('hosts');
    env = await startJobEnv('s3-hosts', { rowsPerSecond: 60 });
  });
  afterAll(async () => {
    await env?.close();
    await s3?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('submit copies the local input into the bucket; chunks run on both workers, one is SIGKILLed, every row is reconciled once', async () => {
    const root = s3.root('jobs');
    const host = async (name: string): Promise<string> => {
      const d = await mkdtemp(join(tmpdir(), `s3-${name}-`));
      dirs.push(d);
      return d;
    };
    const [laptop, hostA, hostB] = [await host('laptop'), await host('host-a'), await host('host-b')];
    const inputPath = join(laptop, 'requests.jsonl');
    const lines = Array.from({ length: ROWS }, (_, i) =>
      JSON.stringify({
        custom_id: `req-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Classify review ${i}` }], max_tokens: 16 },
      }),
    );
    await writeFile(inputPath, lines.join('\n') + '\n');

    // Each "host" has its own working directory and temp dir; only the S3 settings are shared.
    const workerEnv = (dir: string): Record<string, string> => ({
      ...s3.env,
      TMPDIR: dir,
      OPENAI_BATCH_TASK_QUEUE: env.taskQueue,
      OPENAI_BATCH_STORAGE_ROOT: root,
      OPENAI_BASE_URL: env.emulator.baseURL,
      OPENAI_API_KEY: 'sk-test-not-a-secret',
    });
    const workerA = spawnWorker(workerEnv(hostA), { cwd: hostA });
    let workerB: WorkerProcess | undefined;
    try {
      const jobId = `hosts-${Date.now()}`;
      const submitted = await runCli(
        [
          'submit',
          inputPath,
          '--storage-root',
          root,
          '--task-queue',
          env.taskQueue,
          '--job-id',
          jobId,
          '--max-requests-per-batch',
          String(ROWS / CHUNKS),
          '--max-active-batches',
          '3',
          '--poll-min-seconds',
          String(FAST_WAIT.minPollMs / 1000),
          '--poll-max-seconds',
          String(FAST_WAIT.maxPollMs / 1000),
          '--validating-poll-seconds',
          String(FAST_WAIT.validatingPollMs / 1000),
          '--heartbeat-timeout-seconds',
          String(FAST_WAIT.heartbeatTimeoutMs / 1000),
        ],
        {
          cwd: laptop,
          env: { ...s3.env, TEMPORAL_ADDRESS: devServer().address, TEMPORAL_NAMESPACE: devServer().namespace },
        },
      );
      expect(submitted.stderr).toBe('');
      expect(submitted.code).toBe(0);
      expect(submitted.stdout.trim()).toBe(jobId);
      const storage = openStorage(root);
      const copies = (await storage.list(storage.jobUri(jobId, 'input-'))).filter((u) =>
        isJobInputFile(storage, jobId, u),
      );
      expect(copies).toHaveLength(1);
      expect(await storage.size(copies[0] as string)).toBe((await stat(inputPath)).size);

      const created = (): number =>
        Object.entries(env.emulator.stats({ metadataKeys: ['job_id'] }).batchesByMetadata)
          .filter(([k]) => k === jobId)
          .reduce((n, [, v]) => n + v, 0);
      await until('worker A to create a batch', () => Promise.resolve(created() >= 1));
      workerB = spawnWorker(workerEnv(hostB), { cwd: hostB });
      await until('a second batch', () => Promise.resolve(created() >= 2));
      workerA.child.kill('SIGKILL');
      expect((await workerA.exited).signal).toBe('SIGKILL');

      const handle = env.conn.client.workflow.getHandle(jobId);
      const summary = (await handle.result()) as { status: string; resultsUri: string; rows: number };
      expect(summary.status, workerB.output()).toBe('completed');
      expect(summary.resultsUri).toBe(storage.jobUri(jobId, 'results.jsonl'));

      // One batch per chunk, each custom_id once.
      const byChunk = env.emulator.stats({ metadataKeys: ['job_id', 'round', 'chunk'] }).batchesByMetadata;
      const mine = Object.entries(byChunk).filter(([k]) => k.startsWith(`${jobId}/`));
      expect(mine.map(([k]) => k).sort()).toEqual(Array.from({ length: CHUNKS }, (_, i) => `${jobId}/1/${i}`).sort());
      expect(mine.every(([, n]) => n === 1)).toBe(true);
      const rows = await readJsonlFile<{ custom_id: string; status: string }>(root, summary.resultsUri);
      const { ids, statuses } = tally(rows);
      expect(rows).toHaveLength(ROWS);
      expect(ids.size).toBe(ROWS);
      expect(statuses).toEqual({ succeeded: ROWS });

      // Chunks ran on both workers: activity identities are `<pid>@<host>`.
      const jobHistory = await handle.fetchHistory();
      const chunkIds = (jobHistory.events ?? []).flatMap((e) => {
        const id = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
        return id ? [id] : [];
      });
      expect(chunkIds).toHaveLength(CHUNKS);
      const identitiesOf = async (workflowId: string): Promise<Set<string>> => {
        const history = await env.conn.client.workflow.getHandle(workflowId).fetchHistory();
        return new Set(
          (history.events ?? []).flatMap((e) => {
            const identity = e.activityTaskStartedEventAttributes?.identity;
            return identity ? [identity.split('@')[0] ?? ''] : [];
          }),
        );
      };
      const perChunk = await Promise.all(chunkIds.map(identitiesOf));
      const pidA = String(workerA.child.pid);
      const pidB = String(workerB.child.pid);
      expect(perChunk.some((s) => s.has(pidA))).toBe(true);
      expect(perChunk.some((s) => s.has(pidB))).toBe(true);

      // No credential reached the history, the logs or the results; nothing was written on either host.
      const secrets = [s3.server.secretAccessKey, s3.server.accessKeyId];
      const texts = [historyText(jobHistory), workerA.output(), workerB.output(), JSON.stringify(rows)];
      for (const secret of secrets) for (const text of texts) expect(text).not.toContain(secret);
      expect(await readdir(hostA)).toEqual([]);
      expect(await readdir(hostB)).toEqual([]);
      expect(await readdir(laptop)).toEqual(['requests.jsonl']);
    } finally {
      await workerA.stop();
      await workerB?.stop();
    }
  });
});
