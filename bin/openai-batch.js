#!/usr/bin/env node
// Installed as a dependency, the package runs its compiled CLI (Node does not strip types under
// node_modules); in a checkout it runs the TypeScript sources directly (Node >= 22.18).
// Plain JavaScript that every Node since 14 parses: an older Node gets one line, not a stack trace.
const NEEDED = [22, 18];
const found = (process.env.OPENAI_BATCH_TEST_NODE_VERSION || process.versions.node).split('.').map(Number);
if (found[0] < NEEDED[0] || (found[0] === NEEDED[0] && found[1] < NEEDED[1])) {
  console.error(
    `openai-batch needs Node.js >= ${NEEDED.join('.')} (Node 24 LTS recommended); this is Node ${found.join('.')} (${process.execPath}). ` +
      'Install it from https://nodejs.org, with a version manager (nvm install 24), or without either: ' +
      'npm install --prefix ~/.cache/node24 node@24 && export PATH=~/.cache/node24/node_modules/node/bin:$PATH',
  );
  process.exit(1);
}
const installed = import.meta.url.includes('/node_modules/');
const entry = new URL(installed ? '../dist/src/tools/cli/main.js' : '../src/tools/cli/main.ts', import.meta.url);
/** @type {{ main: (argv: readonly string[]) => Promise<number> }} */
const cli = await import(entry.href);
process.exitCode = await cli.main(process.argv.slice(2));
