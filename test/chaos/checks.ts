// What a chaos seed must leave behind, checked from the files, the emulator's state and Temporal's
// histories. Each check returns its violations, one clear line each.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorInventory, EmulatorStats } from '../../src/tools/emulator/index.ts';

export interface CheckResult {
  readonly name: string;
  readonly violations: readonly string[];
  /** A short figure shown in the table when the check passes (e.g. "3000 rows"). */
  readonly note?: string;
}

export const RUNNING_STATUSES = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);

/** Statuses a row may end in, given how the job ended (issue 9: what each end promises). */
function allowedRow(
  jobStatus: string,
  row: { status: string; code: string | undefined },
  rowErrorCodes: ReadonlySet<string>,
): boolean {
  if (row.status === 'succeeded') return true;
  if (jobStatus === 'completed') {
    // Retryable row failures that outlived every round; nothing cancelled, skipped or lost.
    return row.status === 'failed' && row.code !== undefined && rowErrorCodes.has(row.code);
  }
  if (jobStatus === 'cancelled') {
    if (row.status === 'cancelled' || row.status.includes('cancel')) return true;
    if (row.status === 'failed')
      return row.code === 'not_submitted' || (row.code !== undefined && rowErrorCodes.has(row.code));
    return false;
  }
  return false;
}

export interface ResultsCheckInput {
  readonly inputIds: readonly string[];
  readonly rows: readonly { custom_id: string; status: string; error?: { code?: string } | null }[] | undefined;
  readonly jobStatus: string | undefined;
  readonly report: Record<string, unknown> | undefined;
  readonly rowErrorCodes: ReadonlySet<string>;
}

/** Every input row exactly once in results.jsonl, no stranger. */
export function checkRowsOnce(input: ResultsCheckInput): CheckResult {
  const name = 'rows exactly once';
  if (!input.rows) return { name, violations: ['results.jsonl does not exist (the job wrote no results)'] };
  const seen = new Map<string, number>();
  for (const r of input.rows) seen.set(r.custom_id, (seen.get(r.custom_id) ?? 0) + 1);
  const expected = new Set(input.inputIds);
  const missing = input.inputIds.filter((id) => !seen.has(id));
  const dups = [...seen].filter(([, n]) => n > 1);
  const extra = [...seen.keys()].filter((id) => !expected.has(id));
  const v: string[] = [];
  if (missing.length)
    v.push(`${missing.length} input rows missing from results.jsonl (e.g. ${missing.slice(0, 3).join(', ')})`);
  if (dups.length)
    v.push(
      `${dups.length} custom_ids more than once in results.jsonl (e.g. ${dups
        .slice(0, 3)
        .map(([id, n]) => `${id} x${n}`)
        .join(', ')})`,
    );
  if (extra.length)
    v.push(
      `${extra.length} custom_ids in results.jsonl that are not in the input (e.g. ${extra.slice(0, 3).join(', ')})`,
    );
  return { name, violations: v, note: `${input.rows.length}/${input.inputIds.length}` };
}

/** Final statuses agree with how the job ended, and report.json agrees with both. */
export function checkStatuses(input: ResultsCheckInput): CheckResult {
  const name = 'statuses match the end';
  if (!input.rows || input.jobStatus === undefined)
    return { name, violations: ['no results or no job end to compare'] };
  const bad = new Map<string, number>();
  const tally: Record<string, number> = {};
  const detailed: Record<string, number> = {};
  for (const r of input.rows) {
    tally[r.status] = (tally[r.status] ?? 0) + 1;
    const code = r.error?.code;
    const shown = r.status === 'succeeded' || !code ? r.status : `${r.status}/${code}`;
    detailed[shown] = (detailed[shown] ?? 0) + 1;
    if (!allowedRow(input.jobStatus, { status: r.status, code }, input.rowErrorCodes)) {
      const key = `${r.status}${code ? `/${code}` : ''}`;
      bad.set(key, (bad.get(key) ?? 0) + 1);
    }
  }
  const v = [...bad].map(([key, n]) => `${n} rows ${key} in a job that ended ${input.jobStatus}`);
  if (!input.report) v.push('report.json does not exist');
  else {
    const reportStatus = input.report['status'];
    if (reportStatus !== input.jobStatus)
      v.push(`report.json says status ${JSON.stringify(reportStatus)}, the job ended ${input.jobStatus}`);
    const counts = (input.report['counts'] ?? {}) as Record<string, number>;
    for (const status of new Set([...Object.keys(counts), ...Object.keys(tally)])) {
      if ((counts[status] ?? 0) !== (tally[status] ?? 0))
        v.push(`report.json counts ${status}: ${counts[status] ?? 0}, results.jsonl has ${tally[status] ?? 0}`);
    }
  }
  return {
    name,
    violations: v,
    note: Object.entries(detailed)
      .map(([s, n]) => `${s} ${n}`)
      .join(', '),
  };
}

/** No idempotency key has two batches; every batch carries one and belongs to the job. */
export function checkOneBatchPerKey(stats: EmulatorStats, inventory: EmulatorInventory, jobId: string): CheckResult {
  const v: string[] = [];
  for (const [key, n] of Object.entries(stats.batchesByIdempotencyKey))
    if (n > 1) v.push(`idempotency key ${key} has ${n} batches`);
  for (const b of inventory.batches) {
    if (!b.metadata?.['idempotency_key']) v.push(`batch ${b.id} has no idempotency key`);
    else if (b.metadata['job_id'] !== jobId)
      v.push(`batch ${b.id} belongs to job ${b.metadata['job_id'] ?? '?'}, not ${jobId}`);
  }
  return { name: 'one batch per key', violations: v, note: `${inventory.batches.length} batches` };
}

/** Every batch at the emulator is one the job knows (in its summary / report). */
export function checkBatchesKnown(
  inventory: EmulatorInventory,
  knownBatchIds: ReadonlySet<string> | undefined,
): CheckResult {
  const name = 'no unknown batch';
  if (!knownBatchIds) return { name, violations: ['the job has no summary: its batch ids are unknown'] };
  const unknown = inventory.batches.filter((b) => !knownBatchIds.has(b.id));
  return {
    name,
    violations: unknown.map(
      (b) =>
        `batch ${b.id} (round ${b.metadata?.['round'] ?? '?'}, chunk ${b.metadata?.['chunk'] ?? '?'}, now ${b.status}) is in no report of the job: created and never collected`,
    ),
  };
}

/** No batch is still running once the job has ended (checked at the end, and again a moment later). */
export function checkNoneRunning(atEnd: EmulatorInventory, later: EmulatorInventory, graceMs: number): CheckResult {
  const stillLater = new Map(later.batches.map((b) => [b.id, b.status]));
  const v = atEnd.batches
    .filter((b) => RUNNING_STATUSES.has(b.status))
    .map((b) => {
      const after = stillLater.get(b.id) ?? '?';
      return `batch ${b.id} (round ${b.metadata?.['round'] ?? '?'}, chunk ${b.metadata?.['chunk'] ?? '?'}) was ${b.status} when the job ended${RUNNING_STATUSES.has(after) ? `, still ${after} ${graceMs / 1000} s later` : `, ${after} ${graceMs / 1000} s later`}`;
    });
  return { name: 'no batch running', violations: v };
}

/** Every live file at the emulator is an input, output or error file of one of the job's batches. */
export function checkNoOrphanFiles(inventory: EmulatorInventory, jobId: string): CheckResult {
  const referenced = new Set<string>();
  for (const b of inventory.batches) {
    if (b.metadata?.['job_id'] !== jobId) continue;
    for (const id of [b.input_file_id, b.output_file_id, b.error_file_id]) if (id) referenced.add(id);
  }
  const orphans = inventory.files.filter((f) => !referenced.has(f.id));
  // A chunk's file name names its round and chunk: tell a retried upload's leftover (another upload
  // of the same chunk is a batch's input) from the upload of a chunk that never got a batch.
  const usedNames = new Set(inventory.files.filter((f) => referenced.has(f.id)).map((f) => f.filename));
  const leftover = orphans.filter((f) => usedNames.has(f.filename));
  const unsubmitted = orphans.filter((f) => !usedNames.has(f.filename));
  const v: string[] = [];
  const sample = (files: typeof orphans): string =>
    files
      .slice(0, 3)
      .map((f) => `${f.id} ${f.filename}`)
      .join(', ');
  if (leftover.length)
    v.push(
      `${leftover.length} uploads of a chunk whose batch uses another upload (a retried upload's leftover; e.g. ${sample(leftover)})`,
    );
  if (unsubmitted.length)
    v.push(
      `${unsubmitted.length} files no batch references, of chunks that never got a batch (e.g. ${sample(unsubmitted)})`,
    );
  return { name: 'no orphan file', violations: v, note: `${inventory.files.length} files` };
}

/** Where the key appears in a decoded history: walks every string and byte field. */
export function findSecret(
  value: unknown,
  secret: string,
  path = '',
  out: string[] = [],
  seen = new Set<object>(),
): string[] {
  if (out.length >= 5 || value === null || value === undefined) return out;
  if (typeof value === 'string') {
    if (value.includes(secret)) out.push(path || '(root)');
    return out;
  }
  if (value instanceof Uint8Array) {
    // Payloads hold their JSON as raw bytes.
    if (Buffer.from(value.buffer, value.byteOffset, value.byteLength).includes(secret)) out.push(path);
    return out;
  }
  if (typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  for (const [k, v] of Object.entries(value)) findSecret(v, secret, path ? `${path}.${k}` : k, out, seen);
  return out;
}

/** Every file under `dir` whose bytes contain the key. */
export async function filesContaining(dir: string, secret: string): Promise<{ files: number; hits: string[] }> {
  const hits: string[] = [];
  let files = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    files++;
    const path = join(e.parentPath, e.name);
    const data = await readFile(path).catch(() => Buffer.alloc(0));
    if (data.includes(secret)) hits.push(path.slice(dir.length + 1));
  }
  return { files, hits };
}
