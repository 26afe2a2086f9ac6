// Writes examples/reviews/reviews.jsonl: 10,000 synthetic product reviews as chat-completion batch
// requests with a strict structured-output schema (the seed scenario's nightly classification).
// Deterministic: the same file every time, so it is committed and regenerated only on purpose.
//   node examples/reviews/generate-reviews.ts [count] [output]
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { buildRequests } from '../../src/requests/index.ts';
import { REVIEW_SYSTEM_PROMPT, ReviewClassification } from './review-schema.ts';

interface Review {
  readonly id: string;
  readonly product: string;
  readonly rating: number;
  readonly text: string;
}

const PRODUCTS = [
  'espresso machine',
  'trail running shoes',
  'noise-cancelling headphones',
  'standing desk',
  'air purifier',
  'cast-iron skillet',
  'robot vacuum',
  'mechanical keyboard',
  'baby monitor',
  'e-reader',
];
const OPENINGS = [
  'I bought the {p} last month.',
  'Ordered the {p} as a gift.',
  'Second {p} I have owned.',
  'Switched to this {p} after my old one died.',
  'Got the {p} on sale.',
];
const BODIES: Record<number, string[]> = {
  1: [
    'It arrived broken and support never answered my emails.',
    'Stopped working after two days; the replacement has the same fault.',
    'The battery got hot enough to burn my hand. This is a safety problem.',
  ],
  2: [
    'Shipping took three weeks and the box was crushed.',
    'Feels cheap for the price and the manual is useless.',
    'The app keeps disconnecting and I have to reset it daily.',
  ],
  3: [
    'Does the job, nothing special.',
    'Decent quality but overpriced compared with similar models.',
    'Setup was confusing, though it works fine now.',
  ],
  4: [
    'Good value and it arrived a day early.',
    'Solid build; I only wish it were a little quieter.',
    'Support replaced a missing part within a day.',
  ],
  5: [
    'Absolutely love it, works perfectly every single day.',
    'Best purchase this year, the quality is outstanding.',
    'Easy to use, beautifully made, and the price was fair.',
  ],
};

/** A small deterministic PRNG (mulberry32): the same seed gives the same reviews everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Yields `count` reviews, the same ones for the same count. */
export function* generateReviews(count: number, seed = 20261121): Generator<Review> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  for (let i = 0; i < count; i++) {
    const product = pick(PRODUCTS);
    const rating = 1 + Math.floor(random() * 5);
    const text = `${pick(OPENINGS).replace('{p}', product)} ${pick(BODIES[rating] ?? [])}`;
    yield { id: `review-${String(i + 1).padStart(5, '0')}`, product, rating, text };
  }
}

/** Writes the request file for `count` reviews to `path`. */
export async function writeReviewRequests(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const lines = buildRequests(generateReviews(count), {
    model: 'gpt-4o-mini',
    system: REVIEW_SYSTEM_PROMPT,
    user: (r) => `Product: ${r.product}\nRating: ${r.rating}/5\nReview: ${r.text}`,
    params: { temperature: 0, max_tokens: 200 },
    schema: ReviewClassification,
    schemaName: 'review_classification',
  });
  for await (const line of lines) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 10_000);
  const path = process.argv[3] ?? fileURLToPath(new URL('./reviews.jsonl', import.meta.url));
  await writeReviewRequests(path, count);
  console.log(`wrote ${count} review requests to ${path}`);
}
