import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const readmes = new Map<string, string>();
for (const entry of await readdir(repoRoot, { withFileTypes: true, recursive: true })) {
  if (!entry.isFile() || entry.name !== 'README.md') continue;
  const path = relative(repoRoot, join(entry.parentPath, entry.name));
  if (/(^|\/)(node_modules|dist|\.git|\.test-output)\//.test(path)) continue;
  readmes.set(path, await readFile(join(repoRoot, path), 'utf8'));
}

/** Every README.md of the repository (the root one and each folder's), by path from the root. */
export function allReadmes(): ReadonlyMap<string, string> {
  return readmes;
}

/** The fenced block that follows an HTML comment marker (`<!-- marker -->`) in a README (the root one by default). */
export function readmeBlockAfter(marker: string, readme = 'README.md'): string {
  const text = readmes.get(readme);
  if (text === undefined) throw new Error(`no ${readme}`);
  const at = text.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`${readme} has no <!-- ${marker} --> marker`);
  const match = /```\w*\n([\s\S]*?)```/.exec(text.slice(at));
  if (!match?.[1]) throw new Error(`no code block after <!-- ${marker} --> in ${readme}`);
  return match[1];
}

/** Every fenced block of a README, with its language and the marker comment right above it, if any. */
export function readmeBlocks(readme: string): { lang: string; marker: string | undefined; body: string }[] {
  const text = readmes.get(readme) ?? '';
  return [...text.matchAll(/(?:<!-- ([^>]*?) -->\n)?```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    marker: m[1],
    lang: m[2] ?? '',
    body: m[3] ?? '',
  }));
}
