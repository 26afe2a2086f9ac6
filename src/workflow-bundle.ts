import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { WorkflowBundle } from '@temporalio/worker';

/**
 * The plugin's workflows bundled in a short-lived child process, for `Worker.create({ workflowBundle })`.
 *
 * A worker given only a `workflowsPath` runs webpack in its own process when it is created: about
 * 180 MB of peak RSS that the process keeps for its whole life (Node rarely returns its heap), more
 * than any activity of a job needs. Bundling apart leaves the worker that memory; the child's own
 * peak (~350 MB) lasts the few seconds of the bundling. A worker with its own workflows, or the
 * plugin's tracing (its interceptor modules go into the bundle), bundles them itself instead.
 *
 * The child imports only the bundler and this file, never the plugin: the plugin's modules (the
 * activities, the OpenAI and S3 clients) took ~100 MB of the child's peak, at the moment the
 * worker's own modules were loading beside it.
 */
export async function bundleWorkflowsApart(): Promise<WorkflowBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'openai-batch-workflows-'));
  try {
    const out = join(dir, 'workflows.js');
    await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), out], {
      maxBuffer: 1 << 20,
      // A child that never ends (a handle some module left open) must not hang the worker's start.
      timeout: 180_000,
    }).catch((err: unknown) => {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new Error(`bundling the workflows failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
    });
    return { code: await readFile(out, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// In the repository this file runs from `src/`; published, from `dist/src/`: the plugin's own rule.
const ownExtension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The plugin's workflow entry (the plugin's `workflowsPath`), found without importing the plugin. */
export const bundledWorkflowsPath: string = fileURLToPath(
  new URL(`../workflows/index${ownExtension}`, import.meta.url),
);

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

// Run as a script (`node workflow-bundle.ts <out.js>`): bundle and write the code.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: workflow-bundle <out.js>');
  // Imported here, in the child only: the worker's process needs no bundler.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath: bundledWorkflowsPath, logger: quiet });
  await writeFile(out, code);
  // Done: a handle left open by an imported module must not keep the child (and its parent) waiting.
  process.exit(0);
}
