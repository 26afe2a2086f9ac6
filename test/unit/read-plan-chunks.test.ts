import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobStepActivities, type PlanningProvider } from '../../activities/job-steps.ts';
import { tempStorage } from './plan-fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('readPlanChunks', () => {
  // A round reads its chunk list a page at a time; each page is the list's lines from its offset,
  // whatever the offset (a continue-as-new resumes mid-page) and at the list's end.
  it('returns the lines of its page, aligned or not, and what is left at the end', async () => {
    const { storage, cleanup } = await tempStorage();
    cleanups.push(cleanup);
    const chunks = Array.from({ length: 450 }, (_, i) => ({ index: i, uri: `chunk-${i}.jsonl`, requests: i + 1 }));
    const uri = storage.jobUri('job', 'r1', 'plan-chunks.jsonl');
    // A blank line in the middle is not a chunk (the old reader skipped them too).
    const text = chunks.map((c, i) => `${JSON.stringify(c)}\n${i === 300 ? '\n' : ''}`).join('');
    await storage.writeAtomic(uri, Readable.from([text]));
    const notUsed = () => {
      throw new Error('not used by readPlanChunks');
    };
    const activities = createJobStepActivities(notUsed, storage, {} as PlanningProvider);
    const env = new MockActivityEnvironment();
    const page = (offset: number, limit: number) =>
      env.run((input: { chunksUri: string; offset: number; limit: number }) => activities.readPlanChunks(input), {
        chunksUri: uri,
        offset,
        limit,
      });
    expect(await page(0, 200)).toEqual(chunks.slice(0, 200));
    expect(await page(200, 200)).toEqual(chunks.slice(200, 400));
    expect(await page(137, 200)).toEqual(chunks.slice(137, 337));
    expect(await page(400, 200)).toEqual(chunks.slice(400));
    expect(await page(450, 200)).toEqual([]);
    expect(await page(10, 0)).toEqual([]);
  });

  it('reads a list with a BOM, CRLF endings and no final newline as its lines', async () => {
    const { storage, cleanup } = await tempStorage();
    cleanups.push(cleanup);
    const chunks = Array.from({ length: 5 }, (_, i) => ({ index: i }));
    const uri = storage.jobUri('job', 'r1', 'plan-chunks.jsonl');
    await storage.writeAtomic(uri, Readable.from(['\ufeff' + chunks.map((c) => JSON.stringify(c)).join('\r\n')]));
    const activities = createJobStepActivities(
      () => {
        throw new Error('not used by readPlanChunks');
      },
      storage,
      {} as PlanningProvider,
    );
    const env = new MockActivityEnvironment();
    const read = (input: { chunksUri: string; offset: number; limit: number }) => activities.readPlanChunks(input);
    expect(await env.run(read, { chunksUri: uri, offset: 0, limit: 200 })).toEqual(chunks);
    expect(await env.run(read, { chunksUri: uri, offset: 3, limit: 200 })).toEqual(chunks.slice(3));
  });
});
