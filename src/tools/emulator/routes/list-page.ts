import { ApiError } from '../http/api-error.ts';

/** Reads an integer `limit` query parameter within OpenAI's documented range. */
export function parseLimit(url: URL, max: number, fallback: number): number {
  const raw = url.searchParams.get('limit');
  if (raw === null || raw === '') return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ApiError(400, limitOutOfRangeMessage(max, raw), {
      param: 'limit',
      code: 'invalid_value',
    });
  }
  return limit;
}

function limitOutOfRangeMessage(max: number, raw: string): string {
  return (
    "Invalid 'limit': integer below minimum value or above maximum value. " +
    `Expected a value between 1 and ${max}, but got ${raw} instead.`
  );
}

/**
 * One cursor page of `items` (already in list order): the items after the one whose id is
 * `after`, at most `limit`, with OpenAI's `first_id`/`last_id`/`has_more`.
 */
export function cursorPage<T extends { id: string }>(
  items: readonly T[],
  after: string | null,
  limit: number,
  render: (item: T) => unknown,
) {
  let start = 0;
  if (after) {
    const at = items.findIndex((item) => item.id === after);
    start = at < 0 ? items.length : at + 1;
  }
  const page = items.slice(start, start + limit);
  return {
    object: 'list',
    data: page.map(render),
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
    has_more: start + limit < items.length,
  };
}
