// The chunk workflow (`<jobId>/r<round>/c<chunk>`), in small files: see ../README.md.
export { openAIBatchChunk } from './chunk-workflow.ts';
export type { ChunkResume } from './chunk-run.ts';
