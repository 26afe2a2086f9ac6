import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { boundYoungGeneration } from '../../src/tools/cli/young-generation.ts';

const moduleUrl = new URL('../../src/tools/cli/young-generation.ts', import.meta.url).href;

// A process that allocates short-lived objects the way the activities' streams do (many small
// strings and buffers, a few thousand alive at a time) and prints the largest young generation.
const churn = `
import { getHeapSpaceStatistics } from 'node:v8';
const { boundYoungGeneration } = await import(${JSON.stringify(moduleUrl)});
const bounded = boundYoungGeneration();
const keep = [];
let max = 0;
for (let i = 0; i < 1500; i++) {
  const a = [];
  for (let j = 0; j < 2000; j++) a.push({ s: 'x'.repeat(50) + j, b: Buffer.alloc(64) });
  keep.push(a);
  if (keep.length > 20) keep.shift();
  const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  max = Math.max(max, ns.space_size);
}
console.log(JSON.stringify({ bounded, newSpaceMb: max / 1048576 }));
`;

async function churnIn(env: NodeJS.ProcessEnv): Promise<{ bounded: boolean; newSpaceMb: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', churn], {
    env: { ...process.env, NODE_OPTIONS: '', OPENAI_BATCH_V8_DEFAULTS: '', ...env },
  });
  return JSON.parse(stdout) as { bounded: boolean; newSpaceMb: number };
}

describe('boundYoungGeneration', () => {
  it("keeps V8's young generation small in a process that churns short-lived objects", async () => {
    const [plain, bounded] = await Promise.all([churnIn({ OPENAI_BATCH_V8_DEFAULTS: '1' }), churnIn({})]);
    expect(plain.bounded).toBe(false);
    expect(bounded.bounded).toBe(true);
    // Node 24's default grows the young generation to 64-128 MB under this load.
    expect(plain.newSpaceMb).toBeGreaterThanOrEqual(48);
    expect(bounded.newSpaceMb).toBeLessThan(plain.newSpaceMb / 2);
  }, 60_000);

  it("leaves a user's own young-generation flags alone", () => {
    expect(boundYoungGeneration({ NODE_OPTIONS: '--max-semi-space-size=32' }, [])).toBe(false);
    expect(boundYoungGeneration({ NODE_OPTIONS: '--enable-source-maps --semi-space-growth-factor=2' }, [])).toBe(false);
    expect(boundYoungGeneration({}, ['--max-semi-space-size=8'])).toBe(false);
    // V8 takes the underscore spelling too.
    expect(boundYoungGeneration({ NODE_OPTIONS: '--max_semi_space_size=16' }, [])).toBe(false);
    expect(boundYoungGeneration({ OPENAI_BATCH_V8_DEFAULTS: '1' }, [])).toBe(false);
  });
});
