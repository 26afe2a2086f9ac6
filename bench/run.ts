import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

/**
 * `npm run bench`: runs every `bench/*.bench.ts` that exports `run()`, one after another (they
 * measure throughput and memory, so they must not overlap). `node bench/run.ts <name>` runs only
 * the files whose name contains <name>. Add a benchmark by adding such a file.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
for (const file of files) {
  console.log(`\n=== ${file}`);
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run()`);
  await mod.run();
}
