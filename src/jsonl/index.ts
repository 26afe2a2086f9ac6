export { readJsonl, readJsonlBatches, readJsonlRawBatches } from './read-jsonl.ts';
export type { JsonlLine, JsonlRawLine, JsonlIssue, JsonlItem, JsonlRawItem, ReadJsonlOptions } from './read-jsonl.ts';
export { openLineWriter } from './line-writer.ts';
export type { LineWriter } from './line-writer.ts';
