// Seeds the nightly-reviews example's database: applies schema.sql, then inserts reviews with ids
// from+1 .. from+count (deterministic: the same ids get the same reviews every time; ids already
// there are left alone, so running it twice adds nothing).
//   node examples/nightly-reviews/seed.ts [--count 30000] [--from 0]
// The database: OPENAI_BATCH_PG_URL, else DATABASE_URL, else the libpq variables (PGHOST, ...).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateReviews } from '../reviews/generate-reviews.ts';

const ROWS_PER_INSERT = 5_000;

/** Applies schema.sql and inserts the reviews `from + 1` .. `from + count`; returns how many were new. */
export async function seedReviews(client: pg.Client, options: { from?: number; count: number }): Promise<number> {
  const from = options.from ?? 0;
  await client.query(await readFile(new URL('./schema.sql', import.meta.url), 'utf8'));
  let inserted = 0;
  let batch: { id: number; product: string; rating: number; body: string }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const result = await client.query(
      `INSERT INTO reviews (id, product, rating, body)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[])
       ON CONFLICT (id) DO NOTHING`,
      [batch.map((r) => r.id), batch.map((r) => r.product), batch.map((r) => r.rating), batch.map((r) => r.body)],
    );
    inserted += result.rowCount ?? 0;
    batch = [];
  };
  let index = 0;
  // The generator is deterministic for a given count prefix: review i is the same whatever the total.
  for (const review of generateReviews(from + options.count)) {
    index++;
    if (index <= from) continue;
    batch.push({ id: index, product: review.product, rating: review.rating, body: review.text });
    if (batch.length === ROWS_PER_INSERT) await flush();
  }
  await flush();
  return inserted;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { count: { type: 'string' }, from: { type: 'string' } } });
  const count = Number(values.count ?? 30_000);
  const from = Number(values.from ?? 0);
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(from) || from < 0) {
    console.error('seed: --count and --from must be whole numbers, e.g. --count 30000 --from 0');
    process.exit(2);
  }
  const url = process.env['OPENAI_BATCH_PG_URL'] || process.env['DATABASE_URL'] || undefined;
  const client = new pg.Client(url ? { connectionString: url } : {});
  await client.connect();
  try {
    const inserted = await seedReviews(client, { from, count });
    console.log(`seeded ${inserted} new reviews (ids ${from + 1}..${from + count})`);
  } finally {
    await client.end();
  }
}
