import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes every job sets, so that the Temporal UI's list and
// `temporal workflow list --query` can filter jobs. Registered automatically on the dev server;
// real clusters need `temporal operator search-attribute create` once (see README).

/** The job's phase: planning, running, finalizing, completed, deadline_exceeded, failed, cancelled. */
export const JOB_STATUS = defineSearchAttributeKey('OpenAIBatchJobStatus', SearchAttributeType.KEYWORD);
/** Percent of the job's rows that reached a final state, 0 to 100. */
export const JOB_PROGRESS = defineSearchAttributeKey('OpenAIBatchProgress', SearchAttributeType.INT);
/** Every OpenAI batch id the job created, so that an operator can find a job from a batch id. */
export const BATCH_IDS = defineSearchAttributeKey('OpenAIBatchIds', SearchAttributeType.KEYWORD_LIST);
/** The name the author gave the job. */
export const JOB_NAME = defineSearchAttributeKey('OpenAIBatchJobName', SearchAttributeType.KEYWORD);
/** The OpenAI endpoint, e.g. `/v1/chat/completions`. */
export const ENDPOINT = defineSearchAttributeKey('OpenAIBatchEndpoint', SearchAttributeType.KEYWORD);
/** The model every request of the job uses. */
export const MODEL = defineSearchAttributeKey('OpenAIBatchModel', SearchAttributeType.KEYWORD);

/** All of the project's search attribute keys, in registration order. */
export const SEARCH_ATTRIBUTE_KEYS = [JOB_STATUS, JOB_PROGRESS, BATCH_IDS, JOB_NAME, ENDPOINT, MODEL] as const;

/**
 * Temporal refuses a search attribute value over 2 KiB (for a keyword list: its JSON array), and a
 * refused upsert fails the job's workflow task. Values are kept under this many bytes, with room.
 */
export const SEARCH_ATTRIBUTE_VALUE_BYTES = 2_000;

/**
 * The batch ids to publish within {@link SEARCH_ATTRIBUTE_VALUE_BYTES}, whatever the job's size:
 * the active chunks' ids first (an operator looks up what runs), then the newest of the others.
 * `all` is oldest first; the result keeps that order.
 */
export function batchIdsWithinBudget(
  active: readonly string[],
  all: readonly string[],
  maxBytes = SEARCH_ATTRIBUTE_VALUE_BYTES,
): string[] {
  const kept = new Set<string>();
  let bytes = 2; // the brackets of the JSON array
  const add = (id: string): boolean => {
    if (kept.has(id)) return true;
    const cost = utf8Bytes(JSON.stringify(id)) + (kept.size > 0 ? 1 : 0);
    if (bytes + cost > maxBytes) return false;
    kept.add(id);
    bytes += cost;
    return true;
  };
  for (const id of active) if (!add(id)) break;
  for (let i = all.length - 1; i >= 0; i--) if (!add(all[i] as string)) break;
  return [...all.filter((id) => kept.has(id)), ...[...kept].filter((id) => !all.includes(id))];
}

/** `value` cut to at most {@link SEARCH_ATTRIBUTE_VALUE_BYTES} bytes of UTF-8 (a keyword's limit). */
export function keywordWithinBudget(value: string, maxBytes = SEARCH_ATTRIBUTE_VALUE_BYTES): string {
  if (utf8Bytes(value) <= maxBytes) return value;
  let out = '';
  let bytes = 0;
  for (const ch of value) {
    const n = utf8Bytes(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** UTF-8 length of `s` (no TextEncoder needed: workflow-safe). */
function utf8Bytes(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
