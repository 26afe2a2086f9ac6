// What `npx openai-batch` and `npm test` need before any TypeScript loads, in a checkout of the
// repository: Node >= 22.18 (else Node 24 from the npm registry's node@24, kept in the project's
// cache as .ci/run does, and the command run again with it) and the checkout's dependencies.
// Plain JavaScript that every Node since 14 parses; each step says what it does in one line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NEEDED = [22, 18];
const checkout = fileURLToPath(new URL('..', import.meta.url));

/** @param {string} line */
export function say(line) {
  console.error(`openai-batch: ${line}`);
}

/** @param {string} version */
function supported(version) {
  const [major, minor] = version.split('.').map(Number);
  return major > NEEDED[0] || (major === NEEDED[0] && minor >= NEEDED[1]);
}

/** The project's cache directory (as src/tools/devserver/cache-dir.ts): the Temporal CLI and Node 24 live there. */
function cacheDir() {
  if (process.env.OPENAI_BATCH_CACHE_DIR) return process.env.OPENAI_BATCH_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? xdg : join(homedir(), '.cache'), 'temporal-openai-batch');
}

/** Node 24 from the cache, installed there from the npm registry's node@24 first if need be; undefined if that fails. */
function provisionedNode() {
  const prefix = join(cacheDir(), 'node24');
  const node = join(prefix, 'node_modules', 'node', 'bin', 'node');
  const works = () => existsSync(node) && spawnSync(node, ['-v'], { stdio: 'ignore' }).status === 0;
  if (works()) return node;
  say(`installing Node 24 from the npm registry (node@24) into ${prefix}, once`);
  const flags = ['--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'];
  const npm = spawnSync('npm', ['install', ...flags, '--prefix', prefix, 'node@24'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return npm.status === 0 && works() ? node : undefined;
}

function tooOld(found) {
  console.error(
    `openai-batch needs Node.js >= ${NEEDED.join('.')} (Node 24 LTS recommended); this is Node ${found} (${process.execPath}). ` +
      'Install it from https://nodejs.org, with a version manager (nvm install 24), or without either: ' +
      'npm install --prefix ~/.cache/node24 node@24 && export PATH=~/.cache/node24/node_modules/node/bin:$PATH',
  );
  process.exit(1);
}

/**
 * True when this Node can run the sources. Otherwise, with `provision` (a checkout), runs `script`
 * again with Node 24 and exits with its code (returns false meanwhile); without, prints one line.
 * @param {string} script @param {readonly string[]} args @param {boolean} provision
 */
export function ensureNode(script, args, provision) {
  const found = process.env.OPENAI_BATCH_TEST_NODE_VERSION || process.versions.node;
  // A run started by the re-exec below that still finds an old Node: say so instead of looping.
  const again = Boolean(process.env.OPENAI_BATCH_NODE_REEXEC);
  // Not passed on: a process this one starts (a test's CLI run) judges its own Node afresh.
  delete process.env.OPENAI_BATCH_NODE_REEXEC;
  if (supported(found)) return true;
  const node = provision && !again && !process.env.OPENAI_BATCH_NO_NODE_PROVISION ? provisionedNode() : undefined;
  if (!node) return tooOld(found);
  say(`this is Node ${found}; running with Node 24 from ${node}`);
  // Ctrl-C reaches both processes; the child decides what it means (run asks: cancel or leave).
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  const child = spawn(node, [script, ...args], {
    stdio: 'inherit',
    env: {
      ...process.env,
      OPENAI_BATCH_NODE_REEXEC: '1',
      PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}`,
    },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return false;
}

/** Runs `npm ci` in the checkout when its dependencies are not installed; exits on failure. */
export function ensureDependencies() {
  if (existsSync(join(checkout, 'node_modules', '@temporalio', 'worker', 'package.json'))) return;
  say(`installing this checkout's dependencies (npm ci in ${checkout.replace(/\/$/, '')}), once`);
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: checkout,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
  });
  if (npm.status !== 0) {
    say(`npm ci failed in ${checkout} (exit ${npm.status}); run it there yourself and try again`);
    process.exit(1);
  }
}
