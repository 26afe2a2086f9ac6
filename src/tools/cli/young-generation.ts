import { setFlagsFromString } from 'node:v8';

/** The V8 flags that size the young generation; a user who sets one keeps their choice. */
const YOUNG_GENERATION_FLAGS = /--((max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/;

/**
 * Keeps V8's young generation from growing: `--semi-space-growth-factor=1`, set at run time, for
 * the commands whose process runs a worker. The activities allocate about 1 GB of short-lived
 * lines and buffers per chunk, and by default Node 24 grows the young generation to 128 MB under
 * that load, which the process then keeps. `--max-semi-space-size` would bound it too, but V8
 * reads it only when the heap is set up (setting it later changes nothing); the growth factor is
 * read at each resize, so setting it before the heap grows works. Call it before the command's
 * modules load (their loading alone grows the young generation to 64 MB).
 *
 * Not done when NODE_OPTIONS or the command line already set a young-generation flag, nor with
 * OPENAI_BATCH_V8_DEFAULTS=1. Returns true when the flag was set.
 */
export function boundYoungGeneration(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  if (env['OPENAI_BATCH_V8_DEFAULTS'] === '1') return false;
  if (YOUNG_GENERATION_FLAGS.test(env['NODE_OPTIONS'] ?? '')) return false;
  if (execArgv.some((arg) => YOUNG_GENERATION_FLAGS.test(arg))) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
