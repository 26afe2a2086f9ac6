import type { Client } from '@temporalio/client';
import { createOpenAIClient } from '../../../openai/client.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch list [options]

Lists jobs through a Temporal visibility query on the project's search attributes, newest first.

Options:
  --status <s>       job status: planning, running, finalizing, completed, deadline_exceeded,
                     failed, cancelled (OpenAIBatchJobStatus)
  --batch-id <id>    the job that created this OpenAI batch (OpenAIBatchIds; a large job
                     publishes only its active and newest ids, so when none matches, the batch
                     is retrieved at OpenAI (OPENAI_API_KEY / OPENAI_BASE_URL) and its
                     metadata's job_id is listed)
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
    let n = await printJobs(conn.client, query, limit);
    const batchId = values['batch-id'];
    if (n === 0 && batchId) {
      // The search attribute holds at most 2 KiB of ids: the batch's own metadata names its job.
      const jobId = await jobOfBatch(batchId);
      if (jobId) {
        const byJob = listQuery({ status: values.status, name: values.name, query: values.query });
        n = await printJobs(conn.client, `${byJob} AND WorkflowId = ${quote(jobId)}`, limit);
        if (n > 0) console.log(`(found by batch ${batchId}'s metadata at OpenAI: job_id ${jobId})`);
      }
    }
    if (n === 0) console.log(`no jobs match: ${query}`);
  } finally {
    await conn.close();
  }
  return 0;
}

/**
 * The job id in the batch's metadata at OpenAI (every batch the plugin creates carries it);
 * undefined when OpenAI is not configured here, the batch is unknown, or it names no job.
 */
async function jobOfBatch(batchId: string): Promise<string | undefined> {
  if (!process.env['OPENAI_API_KEY'] && !process.env['OPENAI_BASE_URL']) return undefined;
  try {
    const batch = await createOpenAIClient({ timeoutMs: 30_000 }).batches.retrieve(batchId);
    const jobId = batch.metadata?.['job_id'];
    return typeof jobId === 'string' && jobId ? jobId : undefined;
  } catch (err) {
    // Unknown batch (404): nothing to say. Anything else: say why the lookup did not answer.
    const status = (err as { status?: unknown }).status;
    if (status !== 404) console.error(`could not look batch ${batchId} up at OpenAI: ${lookupError(err)}`);
    return undefined;
  }
}

function lookupError(err: unknown): string {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? `HTTP ${status}` : err instanceof Error ? err.name : 'no answer';
}

/** Prints the jobs `query` matches (a header first); returns how many. */
async function printJobs(client: Client, query: string, limit: number): Promise<number> {
  let n = 0;
  for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
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
  return n;
}

/** `openai-batch list`. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list jobs (visibility query on the search attributes)',
  usage,
  run,
};
