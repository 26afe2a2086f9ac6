#!/usr/bin/env node
// Installed as a dependency, the package runs its compiled CLI (Node does not strip types under
// node_modules); in a checkout it runs the TypeScript sources directly (Node >= 22.18). In a
// checkout, `npx openai-batch ...` is also the whole set-up (node-setup.js): Node 24 when this Node
// is older, and `npm ci` when the dependencies are missing, each announced in one line.
// Plain JavaScript that every Node since 14 parses: an older Node gets one line, not a stack trace.
import { fileURLToPath } from 'node:url';
import { ensureDependencies, ensureNode } from './node-setup.js';

const installed = import.meta.url.includes('/node_modules/');
const args = process.argv.slice(2);
if (ensureNode(fileURLToPath(import.meta.url), args, !installed)) {
  if (!installed) ensureDependencies();
  const entry = new URL(installed ? '../dist/src/tools/cli/main.js' : '../src/tools/cli/main.ts', import.meta.url);
  /** @type {{ main: (argv: readonly string[]) => Promise<number> }} */
  const cli = await import(entry.href);
  process.exitCode = await cli.main(args);
}
