import type { Command } from './command.ts';
import { UserError } from './user-error.ts';
import { SearchAttributesMissingError } from '../../setup/search-attribute-setup.ts';
import { boundYoungGeneration } from './young-generation.ts';

// Commands load lazily so that `--help` stays fast and a command's heavy imports (the Temporal
// native bridge, the emulator) load only when that command runs.
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: {
    summary: 'run a batch job to the end (embedded Temporal and emulator by default)',
    load: async () => (await import('./commands/run.ts')).runCommand,
  },
  submit: {
    summary: 'start a job on an existing Temporal server; prints its id',
    load: async () => (await import('./commands/submit.ts')).submitCommand,
  },
  status: {
    summary: "print a job's progress or summary",
    load: async () => (await import('./commands/status.ts')).jobStatusCommand,
  },
  watch: {
    summary: "follow a job's progress until it ends",
    load: async () => (await import('./commands/status.ts')).jobWatchCommand,
  },
  cancel: {
    summary: 'cancel a job and its OpenAI batches, keeping done rows',
    load: async () => (await import('./commands/cancel.ts')).cancelCommand,
  },
  retry: {
    summary: "resubmit finished chunks' retryable rows now (retryFailedRows update)",
    load: async () => (await import('./commands/job-updates.ts')).retryCommand,
  },
  'extend-deadline': {
    summary: "move a running job's deadline later (extendDeadline update)",
    load: async () => (await import('./commands/job-updates.ts')).extendDeadlineCommand,
  },
  results: {
    summary: "print or export a job's reconciled results",
    load: async () => (await import('./commands/results.ts')).resultsCommand,
  },
  list: {
    summary: 'list jobs (visibility query on the search attributes)',
    load: async () => (await import('./commands/list.ts')).listCommand,
  },
  schedule: {
    summary: 'create and manage Temporal Schedules of jobs (nightly runs)',
    load: async () => (await import('./commands/schedule.ts')).scheduleCommand,
  },
  enrich: {
    summary: 'run a Postgres table enrichment pipeline from a YAML/JSON file',
    load: async () => (await import('./commands/enrich.ts')).enrichCommand,
  },
  worker: {
    summary: 'run a worker configured from the environment',
    load: async () => (await import('./commands/worker.ts')).workerCommand,
  },
  dev: {
    summary: 'local development: a dev server with UI, the emulator and a worker, until Ctrl-C',
    load: async () => (await import('./commands/dev.ts')).devCommand,
  },
  emulator: {
    summary: 'serve a local OpenAI Files + Batches API emulator',
    load: async () => (await import('./commands/emulator.ts')).emulatorCommand,
  },
  webhooks: {
    summary: "receive OpenAI's batch webhooks and wake the waiting chunks",
    load: async () => (await import('./commands/webhooks.ts')).webhooksCommand,
  },
};

/** The commands whose process runs a worker (and its heavy activities). */
const WORKER_COMMANDS = new Set(['run', 'dev', 'enrich', 'worker']);

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: openai-batch <command> [options]

Runs OpenAI Batch API jobs durably on Temporal.

Commands:
${lines.join('\n')}

Run \`openai-batch <command> --help\` for a command's options.
`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`openai-batch: unknown command "${name}"\nRun \`openai-batch --help\` for the commands.\n`);
    return 2;
  }
  // Before the command's modules load: a worker's process keeps its young generation small.
  if (WORKER_COMMANDS.has(name) && !rest.includes('--help') && !rest.includes('-h')) boundYoungGeneration();
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof SearchAttributesMissingError) {
      process.stderr.write(`openai-batch ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UserError) {
      process.stderr.write(`openai-batch ${name}: ${err.message}\n${err.hint ? `${err.hint}\n` : ''}`);
      return 2;
    }
    throw err;
  }
}
