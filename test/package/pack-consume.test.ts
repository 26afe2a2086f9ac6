// The package as a user gets it: `npm pack` (which builds dist/ by `prepack`), installed from the
// tarball into a fresh project outside the repository, a consumer file type-checked under `strict`
// against the published types of both entry points, and one real job run from it on the suite's
// dev server and the emulator the package ships.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess, type ProcessOutput } from '../support/run-cli.ts';
import { devServer, uniqueTaskQueue } from '../support/temporal.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const consumerFile = fileURLToPath(new URL('consumer/job.ts', import.meta.url));
const SETUP_TIMEOUT_MS = 900_000;
const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as PackageJson;

interface PackageJson {
  readonly name: string;
  readonly exports: Record<string, unknown>;
  readonly files: readonly string[];
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
  readonly overrides?: Record<string, string>;
}

/** Runs npm on the Node running the tests (first on PATH); fails with npm's own output when it fails. */
async function npm(args: readonly string[], cwd: string): Promise<ProcessOutput> {
  const env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
    npm_config_update_notifier: 'false',
  };
  const out = await runProcess('npm', args, { cwd, env });
  if (out.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${out.code}):\n${out.stdout}\n${out.stderr}`);
  return out;
}

describe('the packed package, installed into a project outside the repository', () => {
  let dir: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pack-consume-'));
    project = join(dir, 'project');
    const out = await npm(['pack', '--json', '--pack-destination', dir], repo);
    packed = (JSON.parse(out.stdout.slice(out.stdout.indexOf('['))) as (typeof packed)[])[0]!;
    // A user's project: ESM (the package is ESM-only), the tarball, and what its own code imports.
    await mkdir(project);
    const own = (name: string) => pkg.dependencies[name] ?? pkg.devDependencies[name];
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'packed-consumer',
        private: true,
        type: 'module',
        dependencies: {
          [pkg.name]: `file:${join(dir, packed.filename)}`,
          '@temporalio/client': own('@temporalio/client'),
          '@temporalio/worker': own('@temporalio/worker'),
          zod: own('zod'),
        },
        devDependencies: { typescript: own('typescript'), '@types/node': own('@types/node') },
        // The same pin as the repository's, so that the registry cache has every package.
        ...(pkg.overrides ? { overrides: pkg.overrides } : {}),
      }),
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2023',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: true,
        },
        files: ['job.ts'],
      }),
    );
    await copyFile(consumerFile, join(project, 'job.ts'));
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships the compiled entry points and their types, and no test or example', () => {
    const paths = packed.files.map((f) => f.path);
    for (const entry of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/workflows/index.js',
      'dist/workflows/index.d.ts',
      'dist/common/failures.js',
      'dist/src/tools/cli/main.js',
      'bin/openai-batch.js',
    ]) {
      expect(paths).toContain(entry);
    }
    expect(paths.filter((p) => /^(test|examples|bench)\//.test(p) || p.startsWith('dist/test/'))).toEqual([]);
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json', './workflows']);
  });

  it('a consumer file importing both entry points type-checks under strict, and typos do not', async () => {
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = await runProcess(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env: process.env });
    // Unused `@ts-expect-error` lines (a typo that compiled) are errors too.
    expect(out.stdout + out.stderr).toBe('');
    expect(out.code).toBe(0);
  });

  it('the installed bin runs the compiled CLI (Node strips no types under node_modules)', async () => {
    const out = await runProcess(join(project, 'node_modules', '.bin', 'openai-batch'), ['--help'], {
      cwd: project,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('openai-batch');
  });

  it('runs one job from the consumer on the dev server and the emulator', async () => {
    const { address, namespace } = devServer();
    const out = await runProcess(process.execPath, ['job.ts', join(dir, 'work')], {
      cwd: project,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        TASK_QUEUE: uniqueTaskQueue('packed'),
      },
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as {
      rows: number;
      counts: Record<string, number>;
      sentiments: string[];
      jobName: string;
      auth: string;
    };
    expect(result.rows).toBe(12);
    expect(result.counts).toMatchObject({ succeeded: 12 });
    expect(result.sentiments).toHaveLength(12);
    for (const s of result.sentiments) expect(['positive', 'neutral', 'negative']).toContain(s);
    expect([result.jobName, result.auth]).toEqual(['OpenAIBatchJobName', 'OpenAIBatch.Auth']);
  });
});
