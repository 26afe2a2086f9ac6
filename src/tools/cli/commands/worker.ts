import type { Command } from '../command.ts';
import { parseFlags } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch worker

Runs a worker with the plugin, configured from the environment, until SIGINT or SIGTERM:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE (Temporal)
  OPENAI_API_KEY, OPENAI_BASE_URL (OpenAI or a compatible service)
  OPENAI_BATCH_TASK_QUEUE (default openai-batch), OPENAI_BATCH_STORAGE_ROOT (default ./.openai-batch)
It is the same program as \`node worker.ts\` and the docker-compose worker.
`;

/** `openai-batch worker`: runs worker.ts, the one worker program of the project. */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'run a worker configured from the environment',
  usage,
  async run(argv) {
    parseFlags('worker', argv, {});
    // Without either, every job would call api.openai.com with no key: refuse before polling.
    if (!process.env['OPENAI_API_KEY'] && !process.env['OPENAI_BASE_URL'])
      throw new UserError(
        'no OPENAI_API_KEY and no OPENAI_BASE_URL: this worker would reach no OpenAI',
        'set OPENAI_API_KEY to use OpenAI, or OPENAI_BASE_URL to a compatible service or to the emulator ' +
          '(`openai-batch emulator` prints its URL); `openai-batch dev` starts a worker wired to an emulator',
      );
    // worker.ts starts on import and exits the process itself on failure.
    await import('../../../../worker.ts');
    return await new Promise<number>(() => undefined);
  },
};
