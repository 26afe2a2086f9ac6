import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const WORDS = [
  'battery screen gorgeous advertised hours lasted less than the quick brown fox review product shipping late',
  'arrived broken excellent value price quality would buy again customer service refund',
  'slow fast bright dim heavy light',
]
  .join(' ')
  .split(' ');

/** A deterministic review text of about `chars` characters. */
function review(n: number, chars: number): string {
  let s = '';
  let x = n * 2654435761;
  while (s.length < chars) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6b43a9b5) >>> 0;
    s += WORDS[x % WORDS.length] + (x % 9 === 0 ? '. ' : ' ');
  }
  return s;
}

async function writeLines(path: string, count: number, line: (n: number) => string | undefined): Promise<number> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let bytes = 0;
  let block = '';
  for (let n = 0; n < count; n++) {
    const l = line(n);
    if (l === undefined) continue;
    block += l + '\n';
    if (block.length > 1 << 20) {
      bytes += Buffer.byteLength(block);
      if (!out.write(block)) await once(out, 'drain');
      block = '';
    }
  }
  bytes += Buffer.byteLength(block);
  out.end(block);
  await once(out, 'finish');
  return bytes;
}

/** 1M chat requests of ~1 KB (about 1 GB): the seed's review-classification job. */
export function writeRequests(path: string, count: number): Promise<number> {
  return writeLines(path, count, (n) =>
    JSON.stringify({
      custom_id: `review-${n}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [
          {
            role: 'system',
            content: 'You classify product reviews as positive, neutral, or negative. Reply with one word.',
          },
          { role: 'user', content: review(n, 780) },
        ],
        max_tokens: 500,
        temperature: 0,
      },
    }),
  );
}

/** OpenAI's output (and error) file for rows [from, to): 1% rate-limited rows go to the error file. */
export async function writeOutputs(outPath: string, errPath: string, from: number, to: number): Promise<number> {
  const ok = await writeLines(outPath, to - from, (i) => {
    const n = from + i;
    if (n % 100 === 7) return undefined;
    return JSON.stringify({
      id: `batch_req_${n}`,
      custom_id: `review-${n}`,
      response: {
        status_code: 200,
        request_id: `req_${n}`,
        body: {
          id: `chatcmpl-${n}`,
          object: 'chat.completion',
          created: 1750000000,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'positive', refusal: null }, finish_reason: 'stop' },
          ],
          usage: {
            prompt_tokens: 190,
            completion_tokens: 1,
            total_tokens: 191,
            prompt_tokens_details: { cached_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0 },
          },
        },
      },
      error: null,
    });
  });
  const err = await writeLines(errPath, to - from, (i) => {
    const n = from + i;
    if (n % 100 !== 7) return undefined;
    return JSON.stringify({
      id: `batch_req_${n}`,
      custom_id: `review-${n}`,
      response: {
        status_code: 429,
        request_id: `req_${n}`,
        body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
      },
      error: null,
    });
  });
  return ok + err;
}
