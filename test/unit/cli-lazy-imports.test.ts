import { describe, expect, it } from 'vitest';
import { modulesLoadedBy } from '../support/modules-loaded.ts';

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
