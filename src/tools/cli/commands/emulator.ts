import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startEmulator } from '../../emulator/index.ts';
import { EMULATOR_PROVIDERS, emulatorConfigPatchSchema, type EmulatorProvider } from '../../emulator/config.ts';
import type { Command } from '../command.ts';
import { parseFlags, parsePort } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch emulator --state-dir <dir> [options]

Serves a local emulator of the OpenAI Files and Batches API for the official SDK
(new OpenAI({ baseURL: 'http://127.0.0.1:<port>/v1', apiKey: 'any' })). Files and batches are
kept under --state-dir, so a restart resumes them.

Options:
  --port <n>         port to listen on (default: a free port)
  --host <addr>      interface to bind (default: 127.0.0.1)
  --state-dir <dir>  directory for files, batches and counters (required)
  --config <file>    JSON file with emulator settings (speed, faults, row errors, limits)
  --provider <name>  speak openai (default), azure or groq: paths, auth, limits, expiry, errors
  -h, --help         show this help
`;

async function loadConfig(path: string | undefined): Promise<unknown> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read --config ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`--config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const result = emulatorConfigPatchSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`--config ${path} is not a valid emulator config: ${problems}`);
  }
  return result.data;
}

async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('emulator', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'state-dir': { type: 'string' },
    config: { type: 'string' },
    provider: { type: 'string' },
  });
  const stateDir = values['state-dir'];
  if (!stateDir) throw new UserError('--state-dir is required', 'run `openai-batch emulator --help` for the options');
  const port = parsePort('port', values.port);
  const provider = values.provider;
  if (provider !== undefined && !(EMULATOR_PROVIDERS as readonly string[]).includes(provider))
    throw new UserError(`--provider is "${provider}"; use one of ${EMULATOR_PROVIDERS.join(', ')}`);
  const loaded = (await loadConfig(values.config)) as Parameters<typeof startEmulator>[0]['config'];
  const config = provider ? { ...loaded, provider: provider as EmulatorProvider } : loaded;
  const emulator = await startEmulator({
    stateDir: resolve(stateDir),
    ...(port !== undefined ? { port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(config !== undefined ? { config } : {}),
  });
  console.log(`listening on ${emulator.baseURL}`);
  const named = emulator.config().provider;
  // Azure's client needs some key; the emulator takes any unless --config lists apiKeys.
  const providerEnv =
    named === 'azure'
      ? 'OPENAI_BATCH_PROVIDER=azure OPENAI_API_KEY=any '
      : named && named !== 'openai'
        ? `OPENAI_BATCH_PROVIDER=${named} `
        : '';
  console.log(
    `point a worker at it: ${providerEnv}OPENAI_BASE_URL=${emulator.baseURL} npx openai-batch dev (or worker)`,
  );
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await emulator.stop();
  return 0;
}

/** `openai-batch emulator`: the local OpenAI Batch API emulator. */
export const emulatorCommand: Command = {
  name: 'emulator',
  summary: 'serve a local OpenAI Files + Batches API emulator',
  usage,
  run,
};
