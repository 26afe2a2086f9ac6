import { boundYoungGeneration } from '../src/tools/cli/young-generation.ts';

/**
 * Entry of one `s3-job.bench.ts` stage process (the stage itself is `s3-job-stage-body.ts`):
 * applies the V8 settings an `openai-batch worker` process applies at its start, by calling the
 * CLI's own function, before the stage's modules load (it must run before the heap grows). So the
 * stage runs as the activities run in a worker; `OPENAI_BATCH_V8_DEFAULTS=1`, or a young-generation
 * flag in `BENCH_NODE_FLAGS`/`NODE_OPTIONS`, leaves Node's defaults, as it does for the worker.
 */
process.env['BENCH_YOUNG_GENERATION_BOUNDED'] = boundYoungGeneration() ? '1' : '0';
await import('./s3-job-stage-body.ts');
