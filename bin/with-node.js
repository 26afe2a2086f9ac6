#!/usr/bin/env node
// `node bin/with-node.js <tool> [args]` runs a tool of node_modules/.bin (npm test: vitest) on a Node
// that runs the sources: this one when it is >= 22.18, else Node 24 set up as `npx openai-batch`
// does (node-setup.js). The package's own scripts use it, in a checkout.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode } from './node-setup.js';

const [tool, ...args] = process.argv.slice(2);
if (ensureNode(fileURLToPath(import.meta.url), process.argv.slice(2), true)) {
  const bin = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin', tool);
  const child = spawn(bin, args, { stdio: 'inherit' });
  process.on('SIGINT', () => undefined);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
