// `npm run chaos -- --seeds 1,2,3 [--timeout-s 300] [--keep]`: runs each seed (see README.md),
// prints a table per seed and one line per violation; exits 1 when any check fails.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../../src/plugin.ts';
import { runSeed, type SeedOutcome } from './scenario.ts';

interface Args {
  seeds: number[];
  timeoutS: number;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: [1, 2, 3], timeoutS: 300, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seeds')
      args.seeds = value()
        .split(',')
        .map((s) => Number(s.trim()));
    else if (a === '--timeout-s') args.timeoutS = Number(value());
    else if (a === '--keep') args.keep = true;
    else throw new Error(`unknown argument ${a}; usage: npm run chaos -- --seeds 1,2,3 [--timeout-s 300] [--keep]`);
  }
  if (args.seeds.length === 0 || args.seeds.some((s) => !Number.isInteger(s)))
    throw new Error('--seeds takes integers, e.g. --seeds 1,2,3');
  if (!(args.timeoutS > 0)) throw new Error('--timeout-s takes a positive number of seconds');
  return args;
}

function printOutcome(o: SeedOutcome): void {
  const failed = o.checks.filter((c) => c.violations.length > 0);
  console.log(
    `\n=== seed ${o.seed}: ${failed.length === 0 ? 'PASS' : `FAIL (${failed.length} of ${o.checks.length} checks)`}`,
  );
  const width = Math.max(...Object.keys(o.figures).map((k) => k.length), ...o.checks.map((c) => c.name.length));
  for (const [k, v] of Object.entries(o.figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log(`  ${'-'.repeat(width)}`);
  for (const c of o.checks)
    console.log(
      `  ${c.name.padEnd(width)}  ${c.violations.length === 0 ? 'ok' : `FAIL (${c.violations.length})`}${c.note ? `  [${c.note}]` : ''}`,
    );
  for (const c of failed) for (const v of c.violations) console.log(`  VIOLATION seed ${o.seed} / ${c.name}: ${v}`);
  if (failed.length > 0 && o.dir)
    console.log(
      `  files of this seed: ${o.dir}${o.dir && !process.argv.includes('--keep') ? ' (removed; rerun with --keep to keep them)' : ''}`,
    );
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const bundleDir = await mkdtemp(join(tmpdir(), 'chaos-bundle-'));
  try {
    console.log('bundling the workflows once for every worker of the run...');
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (m) => console.error(m),
      },
    });
    const bundlePath = join(bundleDir, 'workflow-bundle.js');
    await writeFile(bundlePath, code);
    const outcomes: SeedOutcome[] = [];
    for (const seed of args.seeds) {
      const started = Date.now();
      try {
        const outcome = await runSeed(seed, {
          bundlePath,
          jobTimeoutMs: args.timeoutS * 1000,
          keepDirs: args.keep,
          log: (l) => console.log(l),
        });
        outcomes.push(outcome);
        printOutcome(outcome);
      } catch (err) {
        console.log(
          `\n=== seed ${seed}: ERROR after ${((Date.now() - started) / 1000).toFixed(0)} s: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        outcomes.push({
          seed,
          plan: undefined as never,
          figures: {},
          checks: [{ name: 'seed ran', violations: [`the run itself failed: ${String(err)}`] }],
          dir: '',
        });
      }
    }
    console.log('\n=== summary');
    const names = [...new Set(outcomes.flatMap((o) => o.checks.map((c) => c.name)))];
    const w = Math.max(...names.map((n) => n.length));
    console.log(`  ${'check'.padEnd(w)}  ${outcomes.map((o) => `seed ${o.seed}`.padEnd(8)).join(' ')}`);
    for (const n of names) {
      console.log(
        `  ${n.padEnd(w)}  ${outcomes
          .map((o) => {
            const c = o.checks.find((x) => x.name === n);
            return (c ? (c.violations.length ? 'FAIL' : 'ok') : '-').padEnd(8);
          })
          .join(' ')}`,
      );
    }
    const failing = outcomes.filter((o) => o.checks.some((c) => c.violations.length > 0));
    console.log(
      failing.length === 0
        ? `\nchaos: all ${outcomes.length} seeds passed`
        : `\nchaos: ${failing.length} of ${outcomes.length} seeds failed (${failing.map((o) => o.seed).join(', ')})`,
    );
    return failing.length === 0 ? 0 : 1;
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
