export { readJsonl, readJsonlBatches } from './read-jsonl.ts';
export type { JsonlLine, JsonlIssue, JsonlItem, ReadJsonlOptions } from './read-jsonl.ts';
export { openLineWriter } from './line-writer.ts';
export type { LineWriter } from './line-writer.ts';
