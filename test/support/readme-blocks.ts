import { readFile } from 'node:fs/promises';

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');

/** The fenced block that follows an HTML comment marker (`<!-- marker -->`) in the README. */
export function readmeBlockAfter(marker: string): string {
  const at = readme.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`README has no <!-- ${marker} --> marker`);
  const match = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match?.[1]) throw new Error(`no code block after <!-- ${marker} -->`);
  return match[1];
}
