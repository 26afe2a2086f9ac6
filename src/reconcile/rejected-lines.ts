import { readJsonlRawBatches } from '../jsonl/index.ts';
import type { RequestIssue } from '../requests/index.ts';
import type { BlobStorage } from '../storage/index.ts';

/** One line of the plan's `rejected.jsonl`, with the custom_id its text names, if any. */
export interface RejectedLine {
  /** 1-based line number in the job's input. */
  line: number;
  reasons: RequestIssue[];
  /** Absent when the line has no usable id: not JSON, not UTF-8, too long, or no non-empty string `custom_id`. */
  customId?: string;
}

/**
 * Streams the plan's rejected lines (`{ line, offset, reasons, text? }`, as plan-job writes them),
 * reading each line's custom_id from its text.
 */
export async function* readRejectedLines(storage: BlobStorage, uri: string): AsyncGenerator<RejectedLine[]> {
  for await (const batch of readJsonlRawBatches(await storage.openRead(uri))) {
    const out: RejectedLine[] = [];
    for (const item of batch) {
      if (item.kind !== 'line') continue;
      const entry = JSON.parse(item.raw.toString('utf8')) as { line: number; reasons: RequestIssue[]; text?: string };
      const customId = entry.text === undefined ? undefined : usableCustomId(entry.text);
      out.push({ line: entry.line, reasons: entry.reasons, ...(customId ? { customId } : {}) });
    }
    yield out;
  }
}

/** The line's custom_id when the line is a JSON object whose `custom_id` is a non-empty string. */
function usableCustomId(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as Record<string, unknown>)['custom_id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}
