import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch list [options]

Lists jobs through a Temporal visibility query on the project's search attributes, newest first.

Options:
  --status <s>       job status: planning, running, finalizing, completed, deadline_exceeded,
                     failed, cancelled (OpenAIBatchJobStatus)
  --batch-id <id>    the job that created this OpenAI batch (OpenAIBatchIds)
  --name <name>      jobs with this name (OpenAIBatchJobName)
  --query <q>        any extra visibility query, ANDed
  --limit <n>        at most this many (default: 20)

The same query works in the Temporal UI and the CLI, e.g.
  temporal workflow list --query "OpenAIBatchIds = 'batch_abc123'"
`;

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Builds the visibility query for the given filters (exported for tests). */
export function listQuery(filters: {
  status?: string | undefined;
  batchId?: string | undefined;
  name?: string | undefined;
  query?: string | undefined;
}): string {
  const parts = [`WorkflowType = 'openAIBatchJob'`];
  if (filters.status) parts.push(`OpenAIBatchJobStatus = ${quote(filters.status)}`);
  if (filters.batchId) parts.push(`OpenAIBatchIds = ${quote(filters.batchId)}`);
  if (filters.name) parts.push(`OpenAIBatchJobName = ${quote(filters.name)}`);
  if (filters.query) parts.push(`(${filters.query})`);
  return parts.join(' AND ');
}

async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('list', argv, {
    status: { type: 'string' },
    'batch-id': { type: 'string' },
    name: { type: 'string' },
    query: { type: 'string' },
    limit: { type: 'string' },
  });
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit <= 0)
    throw new UserError(`--limit must be a positive whole number, got "${values.limit}"`);
  const conn = await connectFromEnvironment();
  try {
    const query = listQuery({
      status: values.status,
      batchId: values['batch-id'],
      name: values.name,
      query: values.query,
    });
    let n = 0;
    for await (const wf of conn.client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      const attrs = wf.typedSearchAttributes;
      const get = (name: string): unknown => attrs.getAll().find((p) => p.key.name === name)?.value;
      const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
      const progress = get('OpenAIBatchProgress');
      if (n === 0)
        console.log(['JOB ID'.padEnd(32), 'STATUS'.padEnd(10), 'DONE', 'STARTED'.padEnd(24), 'NAME'].join('  '));
      console.log(
        [
          wf.workflowId.padEnd(32),
          text(get('OpenAIBatchJobStatus'), wf.status.name.toLowerCase()).padEnd(10),
          `${typeof progress === 'number' ? progress : 0}%`.padStart(4),
          wf.startTime.toISOString(),
          text(get('OpenAIBatchJobName'), ''),
        ].join('  '),
      );
      if (++n >= limit) break;
    }
    if (n === 0) console.log(`no jobs match: ${query}`);
  } finally {
    await conn.close();
  }
  return 0;
}

/** `openai-batch list`. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list jobs (visibility query on the search attributes)',
  usage,
  run,
};
