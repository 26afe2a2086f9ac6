import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../src/plugin.ts';
import { bundledWorkflowsPath } from '../../src/workflow-bundle.ts';

// Imports the bundling child's module in a fresh process and lists every module URL it loaded.
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

describe('the bundling child', () => {
  // The child runs webpack beside the worker's own start; the plugin's modules (activities, the
  // OpenAI and S3 clients) added ~50 MB to its peak and are never used there.
  it('loads neither the plugin nor the activities', async () => {
    const loaded = await modulesLoadedBy('../../src/workflow-bundle.ts');
    expect(loaded.some((url) => url.endsWith('/src/workflow-bundle.ts'))).toBe(true);
    expect(
      loaded.filter((url) => /\/src\/plugin\.ts$|\/activities\/|\/node_modules\/(openai|@aws-sdk)\//.test(url)),
    ).toEqual([]);
  }, 60_000);

  it("bundles the plugin's own workflow entry", () => {
    expect(bundledWorkflowsPath).toBe(workflowsPath);
  });
});
