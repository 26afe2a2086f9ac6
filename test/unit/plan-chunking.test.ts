import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, planJob, type PlanJobInput } from '../../src/plan/index.ts';
import type { BlobStorage } from '../../src/storage/index.ts';
import { chatLine, lines, readUri, tempStorage, writeInput } from './plan-fixtures.ts';

async function text(stream: AsyncIterable<Buffer>): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces).toString('utf8');
}

let dir: string;
let storage: BlobStorage;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, storage, cleanup } = await tempStorage()));
afterEach(() => cleanup());

const ids = (n: number, prefix = 'row') =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
const plan = (over: Partial<PlanJobInput> & { inputUri: string }) =>
  planJob({ jobId: 'job', endpoint: '/v1/chat/completions', ...over }, storage);

async function chunkRequestCounts(
  inputLines: string[],
  limits: PlanJobInput['limits'],
  endpoint: PlanJobInput['endpoint'] = '/v1/chat/completions',
) {
  const uri = await writeInput(dir, 'in.jsonl', inputLines.join('\n') + '\n');
  const m = await plan({ inputUri: uri, endpoint, ...(limits ? { limits } : {}) });
  return m.chunks.map((c) => c.requests);
}

describe('chunk limits', () => {
  it('maxRequests: exactly at the limit is one chunk, one over starts a second', async () => {
    expect(
      await chunkRequestCounts(
        ids(3).map((id) => chatLine(id)),
        { maxRequests: 3 },
      ),
    ).toEqual([3]);
    expect(
      await chunkRequestCounts(
        ids(4).map((id) => chatLine(id)),
        { maxRequests: 3 },
      ),
    ).toEqual([3, 1]);
  });

  it('maxBytes: counts each line with its newline; exactly at fits, one byte over splits', async () => {
    const input = ids(3).map((id) => chatLine(id));
    const bytes = input.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    expect(await chunkRequestCounts(input, { maxBytes: bytes })).toEqual([3]);
    expect(await chunkRequestCounts(input, { maxBytes: bytes - 1 })).toEqual([2, 1]);
  });

  it('maxEmbeddingInputs counts inputs inside each request, not requests', async () => {
    const emb = (id: string, n: number) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: Array.from({ length: n }, (_, i) => `text ${i}`) },
      });
    const input = [emb('a', 4), emb('b', 3), emb('c', 3)];
    expect(await chunkRequestCounts(input, { maxEmbeddingInputs: 10 }, '/v1/embeddings')).toEqual([3]);
    expect(await chunkRequestCounts(input, { maxEmbeddingInputs: 9 }, '/v1/embeddings')).toEqual([2, 1]);
  });

  it('maxTokensPerBatch: exact token counts decide the boundary', async () => {
    const input = ids(3).map((id) => chatLine(id, 'hello world'));
    const uri = await writeInput(dir, 'in.jsonl', input.join('\n') + '\n');
    const unbounded = await plan({ inputUri: uri, tokenCounting: 'exact' });
    const perRequest = unbounded.estimatedInputTokens / 3;
    expect(Number.isInteger(perRequest)).toBe(true);
    expect(
      (await plan({ inputUri: uri, limits: { maxTokensPerBatch: perRequest * 3 } })).chunks.map((c) => c.requests),
    ).toEqual([3]);
    expect(
      (await plan({ inputUri: uri, limits: { maxTokensPerBatch: perRequest * 3 - 1 } })).chunks.map((c) => c.requests),
    ).toEqual([2, 1]);
  });

  it('respects all limits at once; chunks of unchanged input lines are slices of it, and nothing is written', async () => {
    const input = ids(7).map((id) => chatLine(id));
    const uri = await writeInput(dir, 'in.jsonl', input.join('\n') + '\n');
    const bytesOfTwo = Buffer.byteLength(input[0] as string) * 2 + 2;
    const snapshotUri = storage.jobUri('job', 'r2', 'input-a1.jsonl');
    const m = await plan({ inputUri: uri, round: 2, limits: { maxRequests: 3, maxBytes: bytesOfTwo }, snapshotUri });
    expect(m.chunks.map((c) => c.requests)).toEqual([2, 2, 2, 1]);
    const version = await storage.version(snapshotUri);
    expect(m.chunks.map((c) => c.uri)).toEqual(
      [0, 2, 4, 6].map((line, i) =>
        storage.sliceUri(snapshotUri, version, line * (bytesOfTwo / 2), (i === 3 ? 1 : 2) * (bytesOfTwo / 2)),
      ),
    );
    // The round holds the snapshot alone; the input can change or go without touching the chunks.
    expect(await storage.list(storage.jobUri('job', 'r2'))).toEqual([snapshotUri]);
    await rm(join(dir, uri));
    for (const [i, c] of m.chunks.entries()) {
      expect(await storage.size(c.uri)).toBe(c.bytes);
      expect(lines(await text(await storage.openRead(c.uri)))).toEqual(input.slice(2 * i, 2 * i + 2));
    }
    expect(lines(await readUri(m.chunks[1]?.uri as string))).toEqual(input.slice(2, 4));
    expect(m.totalRequests).toBe(7);
    expect(m.totalBytes).toBe(input.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
    expect(m.estimatedCostUsd).toBeGreaterThan(0);
  });
});

describe('determinism', () => {
  it('the same input and options give the same chunk files byte for byte, and a re-plan overwrites', async () => {
    const input = ids(50).map((id, i) => chatLine(id, 'x'.repeat(i * 7)));
    const uri = await writeInput(dir, 'in.jsonl', input.join('\r\n'));
    const a = await plan({ inputUri: uri, jobId: 'a', limits: { maxRequests: 7, maxBytes: 2000 } });
    const b = await plan({ inputUri: uri, jobId: 'b', limits: { maxRequests: 7, maxBytes: 2000 } });
    const again = await plan({ inputUri: uri, jobId: 'a', limits: { maxRequests: 7, maxBytes: 2000 } });
    expect(a.chunks.length).toBeGreaterThan(3);
    for (let i = 0; i < a.chunks.length; i++) {
      expect(await readUri(b.chunks[i]?.uri as string)).toBe(await readUri(a.chunks[i]?.uri as string));
    }
    expect(again).toEqual(a);
    expect((await storage.list(storage.jobUri('a'))).length).toBe(a.chunks.length);
    expect(await readUri(a.chunks[0]?.uri as string)).not.toContain('\r');
  });
});

describe('invalid input', () => {
  it("onInvalid 'fail' names lines, reasons and counts, and writes nothing", async () => {
    const input = [
      chatLine('a'),
      chatLine('a'),
      'not json',
      chatLine('c', 'x', 'gpt-4o'),
      ...ids(30, 'bad').map((id) =>
        JSON.stringify({ custom_id: id, method: 'GET', url: '/v1/chat/completions', body: {} }),
      ),
      chatLine('z'),
    ];
    const uri = await writeInput(dir, 'in.jsonl', input.join('\n'));
    const err = await plan({ inputUri: uri, limits: { maxRequests: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    const e = err as InvalidInputError;
    expect(e.message).toContain(
      '33 of 35 request lines in in.jsonl are invalid for /v1/chat/completions; nothing was uploaded.',
    );
    expect(e.message).toContain('line 2: custom_id "a" is already used on line 1 [duplicate_custom_id]');
    expect(e.message).toContain('line 3: not valid JSON');
    expect(e.message).toContain(
      'line 4: body.model is "gpt-4o" but the job\'s first request uses "gpt-4o-mini" [model_mismatch]',
    );
    expect(e.message).toContain('line 5: method must be "POST" [invalid_method]');
    expect(e.message).toContain('  invalid_method: 30 — set "method" to "POST"');
    expect(e.message).toContain("onInvalid: 'skip' to submit the 2 valid lines");
    expect(e.report.firstIssues).toHaveLength(20);
    expect(e.report.countsByReason).toEqual({
      duplicate_custom_id: 1,
      invalid_json: 1,
      model_mismatch: 1,
      invalid_method: 30,
      invalid_body: 30,
    });
    expect(JSON.parse(JSON.stringify(e.report))).toEqual(e.report);
    expect(await readdir(dir)).toEqual(['in.jsonl']);
  });

  it("onInvalid 'skip' writes bad lines with reasons to rejected.jsonl and plans the rest", async () => {
    const input = [chatLine('a'), '{"custom_id":"b"}', chatLine('c')];
    const uri = await writeInput(dir, 'in.jsonl', input.join('\n'));
    const m = await plan({ inputUri: uri, onInvalid: 'skip' });
    expect(m.totalRequests).toBe(2);
    expect(m.rejected).toEqual({ count: 1, uri: storage.jobUri('job', 'r0', 'rejected.jsonl') });
    const rejected = JSON.parse(lines(await readUri(m.rejected.uri as string))[0] as string) as {
      line: number;
      reasons: { reason: string }[];
      text: string;
    };
    expect(rejected.line).toBe(2);
    expect(rejected.text).toBe('{"custom_id":"b"}');
    expect(rejected.reasons.map((r) => r.reason)).toEqual(['invalid_method', 'url_mismatch', 'invalid_body']);
  });

  it('reads the input once when custom_ids are unique, and plans again to name a duplicate, leaving the same files', async () => {
    let reads = 0;
    const counting: BlobStorage = {
      rootUri: storage.rootUri,
      jobUri: (...a) => storage.jobUri(...a),
      openRead: (uri) => (reads++, storage.openRead(uri)),
      writeAtomic: (uri, source) => storage.writeAtomic(uri, source),
      exists: (uri) => storage.exists(uri),
      size: (uri) => storage.size(uri),
      list: (uri) => storage.list(uri),
      delete: (uri) => storage.delete(uri),
      version: (uri) => storage.version(uri),
      sliceUri: (...a) => storage.sliceUri(...a),
      copyWithin: (...a) => storage.copyWithin(...a),
    };
    const unique = await writeInput(dir, 'unique.jsonl', ['a', 'b', 'c'].map((id) => chatLine(id)).join('\n') + '\n');
    await planJob({ jobId: 'once', inputUri: unique, endpoint: '/v1/chat/completions' }, counting);
    expect(reads).toBe(1);

    reads = 0;
    const repeated = await writeInput(
      dir,
      'repeated.jsonl',
      ['a', 'b', 'a', 'c'].map((id) => chatLine(id)).join('\n') + '\n',
    );
    const m = await planJob(
      {
        jobId: 'twice',
        inputUri: repeated,
        endpoint: '/v1/chat/completions',
        onInvalid: 'skip',
        limits: { maxRequests: 2 },
      },
      counting,
    );
    expect(reads).toBe(2);
    expect(await Promise.all(m.chunks.map((c) => readUri(c.uri)))).toEqual([
      `${chatLine('a')}\n${chatLine('b')}\n`,
      `${chatLine('c')}\n`,
    ]);
    const rejected = lines(await readUri(m.rejected.uri as string)).map(
      (l) => JSON.parse(l) as { line: number; reasons: { message: string }[] },
    );
    expect(rejected.map((r) => [r.line, r.reasons[0]?.message])).toEqual([
      [3, 'custom_id "a" is already used on line 1'],
    ]);
    expect(await storage.list(storage.jobUri('twice'))).toEqual([
      storage.jobUri('twice', 'r0', 'c0', 'input.jsonl'),
      storage.jobUri('twice', 'r0', 'c1', 'input.jsonl'),
      storage.jobUri('twice', 'r0', 'rejected.jsonl'),
    ]);
    expect((await readdir(`${dir}/twice/r0`)).sort()).toEqual(['c0', 'c1', 'rejected.jsonl']);
  });

  it('a chunk whose lines are not the input bytes unchanged becomes a file of its own, the same bytes as before', async () => {
    const good = ids(12).map((id) => chatLine(id));
    // Line by line: a BOM, a CRLF line, a blank line, a rejected line inside a chunk, a last line without \n.
    const content =
      '\uFEFF' +
      [good[0], good[1], good[2] + '\r', good[3], '', good[4], good[5], '{"custom_id":"bad"}', good[6], good[7]]
        .map((l) => `${l}\n`)
        .join('') +
      [good[8], good[9], good[10]].map((l) => `${l}\n`).join('') +
      (good[11] as string);
    const uri = await writeInput(dir, 'mixed.jsonl', content);
    const snap = (job: string) => storage.jobUri(job, 'r0', 'input-a1.jsonl');
    // The same input in chunks of `maxRequests`, from a snapshot, bad lines skipped.
    const planMixed = (jobId: string, maxRequests: number) =>
      plan({ inputUri: uri, jobId, onInvalid: 'skip', limits: { maxRequests }, snapshotUri: snap(jobId) });
    // Lines `from`..`to` of the good ones, each with its \n: what a chunk of them holds.
    const joined = (from: number, to: number) =>
      good
        .slice(from, to)
        .map((l) => `${l}\n`)
        .join('');
    const m = await planMixed('mixed', 4);
    expect(m.chunks.map((c) => c.requests)).toEqual([4, 4, 4]);
    // c0 [0-3]: the \r of line 3 turns it into a file at its 4th line; c1 [4-7]: the rejected line
    // between 5 and 6; c2 [8-11]: the last line has no \n. Each is its lines, \n after every one.
    for (const [i, c] of m.chunks.entries()) {
      const want = joined(4 * i, 4 * i + 4);
      expect(await text(await storage.openRead(c.uri))).toBe(want);
      expect(c.bytes).toBe(Buffer.byteLength(want));
      expect(c.uri).toBe(storage.jobUri('mixed', 'r0', `c${i}`, 'input.jsonl'));
    }
    // No chunk is a slice of the snapshot, so it is not kept.
    expect(await storage.exists(snap('mixed'))).toBe(false);
    // [0-2] holds the \r line, [3-5] the blank line, [6-8] follows the rejected line and is a run
    // of the input (a slice may start anywhere), [9-11] ends unterminated.
    const clean = await planMixed('mixed2', 3);
    expect(clean.chunks.map((c) => c.requests)).toEqual([3, 3, 3, 3]);
    expect(clean.chunks.map((c) => c.uri.includes('/@slice/'))).toEqual([false, false, true, false]);
    const sliced = await planMixed('mixed3', 2);
    // [0,1] [2,3] [4,5] [6,7] [8,9] [10,11]: the first starts after the BOM, [2,3] holds the \r line,
    // [4,5] follows a blank line (a slice may start anywhere), [10,11] ends unterminated.
    expect(sliced.chunks.map((c) => c.uri.includes('/@slice/'))).toEqual([true, false, true, true, true, false]);
    for (const [i, c] of sliced.chunks.entries()) {
      expect(await text(await storage.openRead(c.uri))).toBe(joined(2 * i, 2 * i + 2));
    }
  });

  it('reports a BOM as a warning, and invalid UTF-8 and over-long lines as invalid with their line numbers', async () => {
    const uri = await writeInput(
      dir,
      'in.jsonl',
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(`${chatLine('a')}\r\n{"custom_id":"`),
        Buffer.from([0xff]),
        Buffer.from(`"}\r\n${chatLine('long', 'y'.repeat(600))}\r\n${chatLine('d')}\r\n`),
      ]),
    );
    const m = await plan({ inputUri: uri, onInvalid: 'skip', limits: { maxBytes: 400 } });
    expect(m.warnings[0]).toMatch(/byte-order mark/);
    expect(m.totalRequests).toBe(2);
    const reasons = lines(await readUri(m.rejected.uri as string)).map(
      (l) => JSON.parse(l) as { line: number; reasons: { reason: string }[] },
    );
    expect(reasons.map((r) => [r.line, r.reasons[0]?.reason])).toEqual([
      [2, 'invalid_utf8'],
      [3, 'line_too_long'],
    ]);
    expect(await readUri(m.chunks[0]?.uri as string)).toBe(`${chatLine('a')}\n${chatLine('d')}\n`);
  });

  it('an empty input fails with a message instead of planning zero chunks', async () => {
    const uri = await writeInput(dir, 'in.jsonl', '\n\n');
    await expect(plan({ inputUri: uri })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
