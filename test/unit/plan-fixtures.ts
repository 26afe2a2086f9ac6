import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage, type BlobStorage } from '../../src/storage/index.ts';
import { parseSliceUri } from '../../src/storage/slice-uri.ts';

/** A storage root in a fresh temporary directory, removed by `cleanup`. */
export async function tempStorage(): Promise<{ dir: string; storage: BlobStorage; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oab-unit-'));
  return { dir, storage: openStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function chatLine(id: string, content = `hello ${id}`, model = 'gpt-4o-mini'): string {
  return JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content }], max_tokens: 10 },
  });
}

export async function writeInput(dir: string, name: string, content: string | Buffer): Promise<string> {
  await writeFile(path.join(dir, name), content);
  return name;
}

/** A file:// URI's text, or a slice's (its bytes of the file, read here without the storage layer). */
export async function readUri(uri: string): Promise<string> {
  const slice = parseSliceUri(uri);
  if (!slice) return readFile(fileURLToPath(uri), 'utf8');
  const whole = await readFile(fileURLToPath(slice.base));
  return whole.subarray(slice.offset, slice.offset + slice.length).toString('utf8');
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
