// The README's "Error types" table against common/failures.ts, the error mapping and the code that
// throws: every type the project uses is declared once, and the README lists exactly those.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import {
  FAILURE_TYPES,
  FATAL_FAILURE_TYPES,
  NON_RETRYABLE_FAILURE_TYPES,
  updateRejected,
} from '../../common/failures.ts';
import { toApplicationFailure } from '../../src/openai/errors.ts';

const root = new URL('../../', import.meta.url);
const readme = await readFile(new URL('README.md', root), 'utf8');
const declared = Object.values(FAILURE_TYPES) as string[];

/** The README's "Error types" table: type -> its row (the "retried" cell first). */
function readmeTable(): Map<string, string> {
  const section = readme.slice(
    readme.indexOf('## Error types\n'),
    readme.indexOf('\n## ', readme.indexOf('## Error types\n') + 1),
  );
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = /^\| `(OpenAIBatch\.\w+)` \| (.+)$/.exec(line);
    if (cells) rows.set(cells[1]!, cells[2]!.trim());
  }
  return rows;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(new URL(dir, root), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** How the error mapping classifies one case of each type it produces. */
function mapped(err: unknown): ApplicationFailure {
  const failure = toApplicationFailure(err, 'test');
  if (!(failure instanceof ApplicationFailure)) throw new Error('not mapped');
  return failure;
}
const status = (code: number) => APIError.generate(code, { error: { message: 'x' } }, undefined, new Headers());

describe('the failure types', () => {
  it('the README lists exactly the types common/failures.ts declares', () => {
    expect([...readmeTable().keys()].sort()).toEqual([...declared].sort());
    const mentioned = new Set(readme.match(/OpenAIBatch\.[A-Z]\w*/g));
    expect([...mentioned].filter((t) => !declared.includes(t))).toEqual([]);
  });

  it('every OpenAIBatch.* type named in the code is declared in common/failures.ts', async () => {
    const files = (await Promise.all(['src/', 'activities/', 'workflows/', 'common/'].map(sourceFiles))).flat();
    const named = new Set<string>();
    for (const file of files)
      for (const t of (await readFile(file, 'utf8')).match(/OpenAIBatch\.[A-Z]\w*/g) ?? []) named.add(t);
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((t) => !declared.includes(t))).toEqual([]);
  });

  it("the README's retried column says what the code does", () => {
    const table = readmeTable();
    const retried = (type: string) => table.get(type)?.split(/[:,|]/)[0]?.trim();
    const cases: [unknown, string][] = [
      [status(429), FAILURE_TYPES.rateLimit],
      [status(500), FAILURE_TYPES.server],
      [new APIConnectionError({ message: 'reset' }), FAILURE_TYPES.connection],
      [new APIConnectionTimeoutError(), FAILURE_TYPES.timeout],
      [status(409), FAILURE_TYPES.conflict],
      [new APIError(undefined, undefined, 'no status', undefined), FAILURE_TYPES.unknown],
      [status(401), FAILURE_TYPES.auth],
      [status(400), FAILURE_TYPES.badRequest],
      [status(404), FAILURE_TYPES.notFound],
    ];
    for (const [err, type] of cases) {
      const failure = mapped(err);
      expect(failure.type).toBe(type);
      expect([type, retried(type)]).toEqual([type, failure.nonRetryable ? 'no' : 'yes']);
    }
    expect(table.get(FAILURE_TYPES.rateLimit)).toContain('retry-after');
    for (const type of NON_RETRYABLE_FAILURE_TYPES) expect(retried(type)).toBe('no');
    for (const type of FATAL_FAILURE_TYPES) expect(table.get(type)).toContain('the job stops submitting and fails');
    expect(updateRejected('extendDeadline', 'x').nonRetryable).toBe(true);
    expect(retried(FAILURE_TYPES.updateRejected)).toBe('no');
    expect(retried(FAILURE_TYPES.batchRunning)).toBe('benign');
  });

  it('a refused update has one shape: its type and "<update> rejected: <why>"', () => {
    const refusal = updateRejected('retryFailedRows', 'the job is still planning');
    expect([refusal.type, refusal.message]).toEqual([
      FAILURE_TYPES.updateRejected,
      'retryFailedRows rejected: the job is still planning',
    ]);
    expect(readmeTable().get(FAILURE_TYPES.updateRejected)).toContain('`<update> rejected: <why>`');
  });
});
