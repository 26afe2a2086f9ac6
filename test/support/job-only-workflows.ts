// A workflow bundle with the job workflow alone: a worker built from it runs jobs (and every
// activity) but fails each chunk workflow task, so that a chunk's last activity and a cancel can
// both reach the chunk's history before the chunk sees either. Used by
// test/support/cancel-chunk-as-it-ends.ts.
export { openAIBatchJob } from '../../workflows/job/job-workflow.ts';
