import { describe, expect, it } from 'vitest';
import { modulesLoadedBy } from '../support/modules-loaded.ts';
import { workflowsPath } from '../../src/plugin.ts';
import { bundledWorkflowsPath } from '../../src/workflow-bundle.ts';

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
