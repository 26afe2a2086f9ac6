// `npm run bench -- webhook-dedupe` (with nice -n 19): the cost of remembering one more handled
// webhook-id when the receiver already remembers many (a flood at the cap, nothing expired yet),
// as the ratio of the time per delivery with 100,000 ids remembered to that with 1,000, in one
// process. Constant work per delivery gives a ratio near 1; a scan of every id, about 100.
import { performance } from 'node:perf_hooks';
import { SeenDeliveries } from '../src/webhooks/seen-deliveries.ts';

const DELIVERIES = 2_000;

/** Microseconds per claim + done of a new id, with `remembered` ids already held (the cap). */
function microsPerDelivery(remembered: number): number {
  const seen = new SeenDeliveries(3_600_000, remembered);
  const now = Date.now();
  for (let i = 0; i < remembered; i++) {
    seen.claim(`old_${i}`, now);
    seen.done(`old_${i}`, now);
  }
  const started = performance.now();
  for (let i = 0; i < DELIVERIES; i++) {
    seen.claim(`new_${i}`, now);
    seen.done(`new_${i}`, now);
  }
  return ((performance.now() - started) * 1000) / DELIVERIES;
}

export function run(): Promise<void> {
  microsPerDelivery(1_000); // warm-up
  const small = microsPerDelivery(1_000);
  const large = microsPerDelivery(100_000);
  console.log(
    `[webhook-dedupe] per delivery: ${small.toFixed(2)} us with 1,000 ids remembered, ` +
      `${large.toFixed(2)} us with 100,000; ratio ${(large / small).toFixed(1)}`,
  );
  return Promise.resolve();
}
