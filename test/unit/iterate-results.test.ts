// iterateResults reads results.jsonl from storage in pieces: a character whose bytes straddle two
// pieces must come out whole.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iterateResults } from '../../src/client/job-client.ts';

describe('iterateResults', () => {
  it('keeps a multi-byte character that falls across two read pieces', async () => {
    const root = await mkdtemp(join(tmpdir(), 'iterate-results-'));
    await mkdir(join(root, 'job'), { recursive: true });
    // File reads come in 64 KiB pieces: pad the first row so that "é" (2 bytes) starts at byte 262,143,
    // the last of the fourth piece.
    const prefix = '{"custom_id":"a","text":"';
    const padding = 'x'.repeat(262_143 - prefix.length);
    const rows = [`${prefix}${padding}é"}`, '{"custom_id":"b","text":"ü"}'];
    await writeFile(join(root, 'job', 'results.jsonl'), rows.join('\n') + '\n');
    const read: { custom_id: string; text?: string }[] = [];
    for await (const row of iterateResults({ resultsUri: 'job/results.jsonl' }, root)) read.push(row);
    expect(read.map((r) => r.custom_id)).toEqual(['a', 'b']);
    expect(read[0]?.text?.endsWith('xé')).toBe(true);
    expect(read[1]?.text).toBe('ü');
  });
});
