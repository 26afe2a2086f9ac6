#!/usr/bin/env node
// Installed as a dependency, the package runs its compiled CLI (Node does not strip types under
// node_modules); in a checkout it runs the TypeScript sources directly (Node >= 22.18).
const installed = import.meta.url.includes('/node_modules/');
const entry = new URL(installed ? '../dist/src/cli/main.js' : '../src/cli/main.ts', import.meta.url);
/** @type {{ main: (argv: readonly string[]) => Promise<number> }} */
const cli = await import(entry.href);
process.exitCode = await cli.main(process.argv.slice(2));
