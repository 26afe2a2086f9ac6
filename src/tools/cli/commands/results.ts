import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { openStorage } from '../../../storage/index.ts';
import type { Command } from '../command.ts';
import { parseFlags } from '../parse-flags.ts';
import { storageRootFrom } from '../storage-root.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch results <job-id> [options]

Prints a finished job's reconciled results (results.jsonl: one line per input custom_id with its
final status, attempts, batch ids, and response body or error), or exports them to a file.

Options:
  --status <s>              only rows with this status (succeeded, failed, expired, cancelled,
                            missing, invalid_output, rejected); repeatable
  --failures                print failures.jsonl instead
  --report                  print report.json instead
  --output <file>           write to this file instead of stdout
  --storage-root <uri|dir>  (default: $OPENAI_BATCH_STORAGE_ROOT or ./.openai-batch)
`;

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('results', argv, {
    status: { type: 'string', multiple: true },
    failures: { type: 'boolean' },
    report: { type: 'boolean' },
    output: { type: 'string' },
    'storage-root': { type: 'string' },
  });
  const jobId = positionals[0];
  if (!jobId) throw new UserError('results needs a job id', 'openai-batch results <job-id>');
  const storage = openStorage(storageRootFrom(values['storage-root']));
  const file = values.report ? 'report.json' : values.failures ? 'failures.jsonl' : 'results.jsonl';
  const uri = storage.jobUri(jobId, file);
  if (!(await storage.exists(uri))) {
    throw new UserError(
      `job ${jobId} has no ${file} under ${storage.rootUri}`,
      'a job writes it when it ends; check `openai-batch status ' + jobId + '` and --storage-root',
    );
  }
  const wanted = values.status ? new Set(values.status) : undefined;
  const out = values.output ? createWriteStream(values.output) : process.stdout;
  let rest = '';
  const emit = async (line: string): Promise<void> => {
    if (!line) return;
    if (wanted) {
      const status = (JSON.parse(line) as { status?: string }).status;
      if (!status || !wanted.has(status)) return;
    }
    if (!out.write(line + '\n')) await once(out, 'drain');
  };
  for await (const part of await storage.openRead(uri)) {
    rest += part.toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) await emit(line);
  }
  await emit(rest);
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return 0;
}

/** `openai-batch results <id>`. */
export const resultsCommand: Command = {
  name: 'results',
  summary: "print or export a job's reconciled results",
  usage,
  run,
};
