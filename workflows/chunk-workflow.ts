// Moved to ./chunk/; kept so that imports of the old path still resolve until they move.
export { openAIBatchChunk } from './chunk/chunk-workflow.ts';
export type { ChunkResume } from './chunk/chunk-run.ts';
