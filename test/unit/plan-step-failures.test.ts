// Which fix the planJob activity names for a storage error: a file the plan writes in the job's
// folder (a chunk, rejected.jsonl, the snapshot) is the job's own file, retried a few attempts and
// then failed with the job-files fix, never reported as a bad inputUri failing at once.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobStepActivities, type PlanInput } from '../../activities/job-steps.ts';
import { chooseProvider } from '../../src/openai/providers/choose-provider.ts';
import { chatLine, tempStorage } from './plan-fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('planJob activity storage errors', () => {
  async function planWithBlockedChunk(attempt: number): Promise<unknown> {
    const { dir, storage, cleanup } = await tempStorage();
    cleanups.push(cleanup);
    // CRLF lines: the chunk must be a file of its own (r1/c0/input.jsonl), not a slice; a plain
    // file where its folder goes makes that write fail.
    await writeFile(path.join(dir, 'in.jsonl'), [chatLine('a'), chatLine('b')].join('\r\n') + '\r\n');
    await mkdir(path.join(dir, 'job', 'r1'), { recursive: true });
    await writeFile(path.join(dir, 'job', 'r1', 'c0'), 'not a folder');
    const activities = createJobStepActivities(
      () => {
        throw new Error('planning calls no API');
      },
      storage,
      { profile: chooseProvider('openai', undefined), batchDeployments: undefined },
    );
    const env = new MockActivityEnvironment({ attempt });
    const input: PlanInput = {
      jobId: 'job',
      inputUri: 'in.jsonl',
      endpoint: '/v1/chat/completions',
      onInvalid: 'fail',
    };
    return await env
      .run((i: PlanInput) => activities.planJob(i), input)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
  }

  it('a chunk file that cannot be written is retried at first, then fails naming the job files', async () => {
    const first = await planWithBlockedChunk(1);
    expect(first).toBeDefined();
    // Attempt 1: not a non-retryable failure (another worker, or the next attempt, may manage).
    expect(first instanceof ApplicationFailure && first.nonRetryable).toBe(false);
    const last = await planWithBlockedChunk(10);
    expect(last).toBeInstanceOf(ApplicationFailure);
    expect((last as ApplicationFailure).nonRetryable).toBe(true);
    expect((last as ApplicationFailure).message).toContain('a file of the job is missing or outside the storage root');
    expect((last as ApplicationFailure).message).not.toContain("the job's inputUri must name");
  });
});
