import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { derivedId } from '../ids.ts';
import type { BatchPlan, BatchUsage, FinalResult } from '../state/records.ts';
import { requestError } from '../synthesize/request-check.ts';
import { synthesizeRow } from '../synthesize/synthesize-row.ts';
import { injectedErrorResponse, injectedRowError } from './row-fate.ts';

export interface WriteResultsOptions {
  batchId: string;
  batchSeq: number;
  endpoint: string;
  plan: BatchPlan;
  inputPath: string;
  outputPath: string;
  errorPath: string;
  /** Rows executed before the batch ended; the rest are expired or cancelled. */
  processed: number;
  status: FinalResult['status'];
  createdSec: number;
}

export interface WrittenResults {
  outputLines: number;
  outputBytes: number;
  errorLines: number;
  errorBytes: number;
  request_counts: FinalResult['request_counts'];
  usage: BatchUsage;
}

const UNFINISHED = {
  expired: {
    code: 'batch_expired',
    message: 'This request could not be executed before the completion window expired.',
  },
  cancelled: { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' },
} as const;

/**
 * Streams the input file once and writes the output and error files line by line, never holding
 * more than one row in memory: successes go to the output file, failed rows to the error file with
 * their HTTP error, and rows the batch never reached to the error file as `batch_expired` or
 * `batch_cancelled` (the guide's format for expiry).
 */
export async function writeResults(options: WriteResultsOptions): Promise<WrittenResults> {
  const output = createWriteStream(options.outputPath);
  const errors = createWriteStream(options.errorPath);
  const result: WrittenResults = {
    outputLines: 0,
    outputBytes: 0,
    errorLines: 0,
    errorBytes: 0,
    request_counts: { total: 0, completed: 0, failed: 0 },
    usage: {
      input_tokens: 0,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 0,
    },
  };
  try {
    let index = 0;
    const lines = createInterface({ input: createReadStream(options.inputPath), crlfDelay: Infinity });
    for await (const raw of lines) {
      if (raw.trim() === '') continue;
      const line = JSON.parse(raw) as { custom_id: string; body: Record<string, unknown> };
      const id = derivedId('batch_req_', options.batchId, index);
      const requestId = derivedId('req_', options.batchId, index, 'request');
      let text: string;
      let toOutput = false;
      if (index >= options.processed) {
        const error = UNFINISHED[options.status === 'cancelled' ? 'cancelled' : 'expired'];
        text = JSON.stringify({ id, custom_id: line.custom_id, response: null, error });
      } else {
        const injected = injectedRowError(options.plan, options.batchSeq, line.custom_id);
        const executed =
          requestError(options.endpoint, line.body) ??
          (injected ? { ok: false as const, ...injectedErrorResponse(injected) } : null) ??
          synthesizeRow(options.endpoint, JSON.stringify(line.body), line.body, options.createdSec);
        if (executed.ok) {
          toOutput = true;
          result.request_counts.completed++;
          addUsage(result.usage, executed.usage);
          text = JSON.stringify({
            id,
            custom_id: line.custom_id,
            response: { status_code: 200, request_id: requestId, body: executed.body },
            error: null,
          });
        } else {
          result.request_counts.failed++;
          text = JSON.stringify({
            id,
            custom_id: line.custom_id,
            response: { status_code: executed.status, request_id: requestId, body: { error: executed.error } },
            error: null,
          });
        }
      }
      const bytes = Buffer.byteLength(text) + 1;
      if (toOutput) {
        result.outputLines++;
        result.outputBytes += bytes;
        await writeLine(output, text);
      } else {
        result.errorLines++;
        result.errorBytes += bytes;
        await writeLine(errors, text);
      }
      index++;
    }
    result.request_counts.total = index;
  } finally {
    output.end();
    errors.end();
    await Promise.all([once(output, 'close'), once(errors, 'close')]);
  }
  return result;
}

async function writeLine(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(`${text}\n`)) await once(stream, 'drain');
}

function addUsage(total: BatchUsage, row: { input: number; cached: number; output: number; reasoning: number }): void {
  total.input_tokens += row.input;
  total.input_tokens_details.cached_tokens += row.cached;
  total.output_tokens += row.output;
  total.output_tokens_details.reasoning_tokens += row.reasoning;
  total.total_tokens += row.input + row.output;
}
