// The CLI's copy of a local input: each copy a file of its own in the job's folder, so a second
// submit with the same job id (two at once pass the running-job check together) never replaces the
// file the first one's job reads and slices.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isJobInputFile } from '../../src/plan/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { settleInputCopies, snapshotInput } from '../../src/tools/cli/storage-root.ts';

describe("the CLI's copy of a local input", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-input-copy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('two copies for one job id are two files, each its own bytes, both known as the job input', async () => {
    const root = pathToFileURL(join(dir, 'root')).href;
    await writeFile(join(dir, 'a.jsonl'), 'first\n');
    await writeFile(join(dir, 'b.jsonl'), 'second, longer\n');
    const [a, b] = await Promise.all([
      snapshotInput(join(dir, 'a.jsonl'), root, 'same-id'),
      snapshotInput(join(dir, 'b.jsonl'), root, 'same-id'),
    ]);
    expect(a).not.toBe(b);
    const storage = openStorage(root);
    expect([isJobInputFile(storage, 'same-id', a), isJobInputFile(storage, 'same-id', b)]).toEqual([true, true]);
    expect(isJobInputFile(storage, 'other-id', a)).toBe(false);
    expect(isJobInputFile(storage, 'same-id', storage.jobUri('same-id', 'r1', 'input-a1.jsonl'))).toBe(false);
    expect(await readFile(new URL(a), 'utf8')).toBe('first\n');
    expect(await readFile(new URL(b), 'utf8')).toBe('second, longer\n');
    // The copy of a start refused because the id runs is removed; another start error keeps it
    // (the server may have started the job).
    await settleInputCopies(root, 'same-id', b, new Error('deadline exceeded'));
    expect(await storage.exists(b)).toBe(true);
    await settleInputCopies(root, 'same-id', b, new WorkflowExecutionAlreadyStartedError('started', 'same-id', 't'));
    expect(await storage.exists(b)).toBe(false);
    expect(await storage.exists(a)).toBe(true);
  });

  it("a started job's copy stays, and the copies of earlier jobs with its id go", async () => {
    const root = pathToFileURL(join(dir, 'root')).href;
    await writeFile(join(dir, 'in.jsonl'), 'x\n');
    const earlier = await snapshotInput(join(dir, 'in.jsonl'), root, 'nightly');
    const storage = openStorage(root);
    const legacy = storage.jobUri('nightly', 'input.jsonl');
    await storage.writeAtomic(legacy, Readable.from(['old\n']));
    // Not a copy of the CLI's: a user's file in the folder stays.
    const other = storage.jobUri('nightly', 'input-notes.jsonl');
    await storage.writeAtomic(other, Readable.from(['mine\n']));
    const current = await snapshotInput(join(dir, 'in.jsonl'), root, 'nightly');
    await settleInputCopies(root, 'nightly', current);
    expect(await storage.list(storage.jobUri('nightly', 'input'))).toEqual([other, current].sort());
    expect(await storage.exists(earlier)).toBe(false);
    expect(await storage.exists(legacy)).toBe(false);
  });
});
