// The reviews database of the enrichment tests: a fresh database per test on the test's Postgres,
// with an audit trigger that counts every UPDATE of a review (so "written once" can be asserted).
import pg from 'pg';
import type { TestPostgres } from './postgres.ts';

export interface ReviewsDb {
  /** Connection string of this database (with the test cluster's password). */
  readonly url: string;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Inserts reviews `from`..`to - 1` with a valid body each; `body` overrides one review's. */
  insertReviews(from: number, to: number, body?: (id: number) => string | null | undefined): Promise<void>;
  /** UPDATEs per review id so far. */
  updatesPerReview(): Promise<Map<number, number>>;
  close(): Promise<void>;
}

export async function createReviewsDb(server: TestPostgres, name: string): Promise<ReviewsDb> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.url.replace(/\/postgres$/, `/${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    CREATE TABLE reviews (
      id bigint PRIMARY KEY, product text NOT NULL, body text, created_at timestamptz NOT NULL DEFAULT now(),
      sentiment text, topic text, urgency smallint, labels jsonb, label_status text, batch_id text, labelled_at timestamptz);
    CREATE TABLE review_updates (id bigint NOT NULL);
    CREATE FUNCTION count_review_update() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO review_updates (id) VALUES (NEW.id); RETURN NEW; END $$;
    CREATE TRIGGER reviews_audit AFTER UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION count_review_update();
  `);
  const products = ['kettle', 'headphones', 'desk lamp', 'backpack'];
  const bodies = [
    'Arrived two days late but works great.',
    'Stopped working after a week, support never answered.',
    'Good value for the price.',
    'The strap broke, I need a replacement before my trip tomorrow!',
  ];
  return {
    url,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await client.query<R>(sql, params)).rows;
    },
    async insertReviews(from, to, body) {
      await client.query(
        `INSERT INTO reviews (id, product, body, created_at)
           SELECT i, ($3::text[])[1 + i % 4], ($4::text[])[1 + i % 4] || ' #' || i, now() - interval '1 minute'
           FROM generate_series($1::bigint, $2::bigint - 1) AS i`,
        [from, to, products, bodies],
      );
      if (body)
        for (let id = from; id < to; id++) {
          const b = body(id);
          if (b !== undefined) await client.query('UPDATE reviews SET body = $2 WHERE id = $1', [id, b]);
        }
      await client.query('DELETE FROM review_updates WHERE id >= $1 AND id < $2', [from, to]);
    },
    async updatesPerReview() {
      const rows = (
        await client.query<{ id: string; n: string }>('SELECT id, count(*) AS n FROM review_updates GROUP BY id')
      ).rows;
      return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
    },
    async close() {
      await client.end();
    },
  };
}
