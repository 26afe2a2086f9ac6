import { boundYoungGeneration } from '../src/tools/cli/young-generation.ts';

/**
 * Entry of one `s3-transfer.bench.ts` phase process (the phase itself is
 * `s3-transfer-stage-body.ts`): applies the V8 settings an `openai-batch worker` process applies at
 * its start, by calling the CLI's own function, before the phase's modules load. The raw
 * PutObject/GetObject phases get them too, so both sides of each comparison run alike.
 */
process.env['BENCH_YOUNG_GENERATION_BOUNDED'] = boundYoungGeneration() ? '1' : '0';
await import('./s3-transfer-stage-body.ts');
