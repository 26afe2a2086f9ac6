import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Imports a command's module in a fresh process and lists every module URL it loaded.
async function modulesLoadedBy(modulePath: string): Promise<string[]> {
  const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
await import(${JSON.stringify(new URL(modulePath, import.meta.url).href)});
console.log(JSON.stringify(loaded));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as string[];
}

describe("the worker commands' imports", () => {
  // The emulator's modules (its token counter's rank tables among them) cost the worker's process
  // ~60 MB; a run against a real or separate OpenAI endpoint never uses them.
  it.each(['run', 'dev', 'enrich'])(
    '%s loads the emulator only when it starts one',
    async (name) => {
      const loaded = await modulesLoadedBy(`../../src/tools/cli/commands/${name}.ts`);
      expect(loaded.some((url) => url.includes('/src/tools/cli/commands/'))).toBe(true);
      expect(loaded.filter((url) => url.includes('/src/tools/emulator/') || url.includes('gpt-tokenizer'))).toEqual([]);
    },
    60_000,
  );
});
