// A workflow bundle with the chunk workflow alone: a worker built from it runs chunks (and every
// activity) but fails each job workflow task, so that a chunk's report and a cancel can both reach
// the job's history before the job sees either. Used by test/support/cancel-with-report.ts.
export { openAIBatchChunk } from '../../workflows/chunk/index.ts';
