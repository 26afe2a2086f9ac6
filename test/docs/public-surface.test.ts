// The public surface is what the READMEs say: every function they name is exported from the entry
// they name it under, every folder README's code is an example file a test runs, and no link or
// path leaves the repository.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { emulatorClient } from '../../examples/emulator-client.ts';
import { freePort } from '../../src/tools/devserver/free-port.ts';
import * as myWorkflows from '../../examples/my-workflows.ts';
import { allReadmes, readmeBlockAfter, readmeBlocks, repoRoot } from '../support/readme-blocks.ts';
import { until } from '../support/until.ts';

const ENTRIES = {
  'temporal-openai-batch': 'src/index.ts',
  'temporal-openai-batch/workflows': 'workflows/index.ts',
} as const;
type Entry = keyof typeof ENTRIES;

/** The names an entry file exports (explicit named exports only: the project has no `export *` there). */
async function exportedNames(entry: Entry): Promise<Set<string>> {
  const source = await readFile(join(repoRoot, ENTRIES[entry]), 'utf8');
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item
        .trim()
        .replace(/^type /, '')
        .split(/\s+as\s+/)
        .at(-1)
        ?.trim();
      if (name) names.add(name);
    }
  }
  return names;
}

const root = await exportedNames('temporal-openai-batch');
const workflows = await exportedNames('temporal-openai-batch/workflows');
const readme = allReadmes().get('README.md')!;

describe('every name the READMEs document is exported where they say', () => {
  it('each function the root README calls, `name(...)` or `new Name(...)`, is exported by an entry', () => {
    const called = new Set([...readme.matchAll(/`(?:new )?([A-Za-z_]\w*)\(/g)].map((m) => m[1]!));
    expect(called.size).toBeGreaterThan(3);
    expect([...called].filter((name) => !root.has(name) && !workflows.has(name))).toEqual([]);
  });

  it("each name in the Import paths table is exported by that row's entry, and each CLI command exists", async () => {
    const table = readme.slice(
      readme.indexOf('### Import paths'),
      readme.indexOf('\n## ', readme.indexOf('### Import paths')),
    );
    const rows = [...table.matchAll(/^\| `([^`]+)` \| (.*) \| [^|]+ \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual([
      'temporal-openai-batch',
      'temporal-openai-batch/workflows',
      'npx openai-batch',
    ]);
    for (const [, entry, what] of rows) {
      const names = [...what!.matchAll(/`([A-Za-z_][\w-]*)`/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(3);
      if (entry === 'npx openai-batch') {
        const cli = await readFile(join(repoRoot, 'src/tools/cli/main.ts'), 'utf8');
        expect(names.filter((command) => !new RegExp(`^  '?${command}'?: \\{`, 'm').test(cli))).toEqual([]);
      } else {
        const exported = entry === 'temporal-openai-batch' ? root : workflows;
        expect([entry, names.filter((name) => !exported.has(name))]).toEqual([entry, []]);
      }
    }
  });

  it('each name a README code block imports from the package is exported by that entry', () => {
    let imports = 0;
    for (const [path] of allReadmes()) {
      for (const block of readmeBlocks(path)) {
        for (const [, list, entry] of block.body.matchAll(
          /import (?:type )?\{([^}]*)\} from '(temporal-openai-batch(?:\/workflows)?)'/g,
        )) {
          const exported = entry === 'temporal-openai-batch' ? root : workflows;
          const names = list!
            .split(',')
            .map((n) => n.trim().replace(/^type /, ''))
            .filter(Boolean);
          imports += names.length;
          expect([path, names.filter((name) => !exported.has(name))]).toEqual([path, []]);
        }
      }
    }
    expect(imports).toBeGreaterThan(5);
  });
});

describe('no link or path in a README leaves the repository', () => {
  it('every relative link and every backticked file path resolves to a file inside the repository', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [path, text] of allReadmes()) {
      const prose = text.replace(/```[\s\S]*?```/g, '');
      const targets = [
        ...[...prose.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t)),
        ...[...prose.matchAll(/`((?:\.{1,2}\/)*[\w.-]+(?:\/[\w.-]+)+\.(?:ts|js|md|json|jsonl|yml|yaml))`/g)].map(
          (m) => m[1]!,
        ),
      ];
      for (const target of targets) {
        // Prose also names files a user makes (`inputs/reviews.jsonl`); a repository path starts with
        // ./ or ../, or with a folder of the repository or of the README's own folder.
        const first = target.split('/')[0]!;
        if (
          !target.startsWith('.') &&
          !existsSync(join(repoRoot, first)) &&
          !existsSync(join(repoRoot, dirname(path), first))
        )
          continue;
        checked++;
        // A path is relative to the README's folder, or (as prose often writes it) to the repository.
        const candidates = [resolve(repoRoot, dirname(path), target), resolve(repoRoot, target)];
        const inside = candidates.filter((c) => !relative(repoRoot, c).startsWith('..'));
        if (inside.length === 0) problems.push(`${path}: ${target} leaves the repository`);
        else if (!inside.some((c) => existsSync(c))) problems.push(`${path}: ${target} does not exist`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  it("the root README's web links are the project's public references only", () => {
    const web = [...readme.matchAll(/\]\((https?:[^)\s]+)\)/g)].map((m) => m[1]);
    expect(web).toEqual(['https://temporal.io']);
  });

  it('the Layout section names folders that exist', () => {
    const layout = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout')));
    const folders = [...layout.matchAll(/`([\w.-]+(?:\/[\w.-]+)*)\/`/g)].map((m) => m[1]!);
    expect(folders.length).toBeGreaterThan(6);
    expect(folders.filter((f) => !existsSync(join(repoRoot, f)))).toEqual([]);
  });
});

describe("the folder READMEs' code runs as written", () => {
  it('src/tools/emulator/README.md: the emulator command prints what the README shows', async () => {
    const [command, ...shownLines] = readmeBlockAfter('doc-test: emulator-cli', 'src/tools/emulator/README.md')
      .trim()
      .split('\n') as [string, ...string[]];
    const port = await freePort();
    // As written, without the optional part, on a port free on this machine.
    const args = command
      .replace(/ \[[^\]]*\]/g, '')
      .replace('--port 8787', `--port ${port}`)
      .split(' ');
    expect(args.slice(0, 3)).toEqual(['npx', 'openai-batch', 'emulator']);
    const dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    const child = spawn(process.execPath, [join(repoRoot, 'bin/openai-batch.js'), ...args.slice(2)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // The README shows every line the command prints, each as a `# ` comment.
      await until('the emulator to print what the README shows', () =>
        Promise.resolve(out.split('\n').length > shownLines.length || child.exitCode !== null),
      );
      const shown = shownLines.map((line) => line.replace(/^# /, '').replaceAll('8787', String(port)));
      expect(out.trim().split('\n')).toEqual(shown);
      expect(existsSync(join(dir, '.emulator'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("src/tools/emulator/README.md: the emulator answers the OpenAI client the README's example builds", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-readme-'));
    const { emulator, client } = await emulatorClient(join(dir, 'state'));
    try {
      const file = await client.files.create({
        file: new File(
          [
            '{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"text-embedding-3-small","input":"hi"}}\n',
          ],
          'in.jsonl',
        ),
        purpose: 'batch',
      });
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/embeddings',
        completion_window: '24h',
      });
      expect(batch.status).toBe('validating');
      expect((await client.batches.retrieve(batch.id)).id).toBe(batch.id);
      expect(emulator.stats().batchesCreated).toBe(1);
    } finally {
      await emulator.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('workflows/README.md: a bundle that re-exports the job workflows next to its own builds for the sandbox', async () => {
    expect(Object.keys(myWorkflows)).toEqual(expect.arrayContaining(['openAIBatchJob', 'openAIBatchChunk', 'greet']));
    const bundle = await bundleWorkflowCode({
      workflowsPath: join(repoRoot, 'examples/my-workflows.ts'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    expect(bundle.code).toContain('openAIBatchJob');
    expect(bundle.code).toContain('hello, ');
  });
});
