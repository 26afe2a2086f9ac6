import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchCreateParams } from 'openai/resources/batches';
import {
  FAST,
  chatLine,
  openEmulator,
  readJsonl,
  uploadBatchFile,
  waitForStatus,
  type EmulatorFixture,
} from './support/emulator-fixture.ts';
import { validateSchema, SPEC_2025_06 } from './support/openapi-validator.ts';

type Line = {
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: unknown;
};

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await openEmulator(FAST);
});
afterAll(async () => fx?.close());

async function run(
  lines: readonly unknown[],
  endpoint: BatchCreateParams['endpoint'],
): Promise<{ batch: Batch; output: Line[]; errors: Line[] }> {
  const file = await uploadBatchFile(fx.client, await fx.writeJsonl(`r-${Math.random()}.jsonl`, lines));
  const created = await fx.client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
  const batch = await waitForStatus(fx.client, created.id, ['completed', 'failed']);
  expect(batch.status).toBe('completed');
  return {
    batch,
    output: batch.output_file_id ? await readJsonl<Line>(fx.client, batch.output_file_id) : [],
    errors: batch.error_file_id ? await readJsonl<Line>(fx.client, batch.error_file_id) : [],
  };
}

const line = (id: string, url: string, body: Record<string, unknown>) => ({ custom_id: id, method: 'POST', url, body });

describe('synthesized responses', () => {
  it.each([
    [
      '/v1/chat/completions',
      'CreateChatCompletionResponse',
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] },
    ],
    ['/v1/responses', 'Response', { model: 'gpt-4.1-mini', input: 'Summarize this review' }],
    [
      '/v1/embeddings',
      'CreateEmbeddingResponse',
      { model: 'text-embedding-3-small', input: ['one', 'two'], dimensions: 8 },
    ],
    ['/v1/completions', 'CreateCompletionResponse', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time' }],
    ['/v1/moderations', 'CreateModerationResponse', { model: 'omni-moderation-latest', input: 'a harmless sentence' }],
  ] as const)('%s rows get bodies that conform to %s', async (endpoint, schema, body) => {
    const { output } = await run([line('a', endpoint, body), line('b', endpoint, body)], endpoint);
    expect(output).toHaveLength(2);
    for (const row of output) {
      expect(validateSchema('BatchRequestOutput', row, { spec: SPEC_2025_06 })).toEqual([]);
      expect(validateSchema(schema, row.response!.body)).toEqual([]);
    }
    // Same request, same answer.
    const strip = (b: Record<string, unknown>) => ({ ...b, created: 0, created_at: 0, completed_at: 0 });
    expect(strip(output[0]!.response!.body)).toEqual(strip(output[1]!.response!.body));
  });

  it('usage comes from the tokenizer: a longer prompt costs more prompt tokens, and embeddings are unit vectors of the asked size', async () => {
    const { output } = await run(
      [
        chatLine('short', 'Hi'),
        chatLine(
          'long',
          'This review is considerably longer and mentions many details about the delivery. '.repeat(10),
        ),
      ],
      '/v1/chat/completions',
    );
    const usage = Object.fromEntries(
      output.map((l) => [l.custom_id, (l.response!.body.usage as { prompt_tokens: number }).prompt_tokens]),
    );
    expect(usage.long!).toBeGreaterThan(usage.short! * 10);
    const emb = await run(
      [line('e', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'x', dimensions: 16 })],
      '/v1/embeddings',
    );
    const vector = (emb.output[0]!.response!.body.data as { embedding: number[] }[])[0]!.embedding;
    expect(vector).toHaveLength(16);
    expect(Math.abs(Math.hypot(...vector) - 1)).toBeLessThan(1e-5);
  });

  it('a json_schema response_format gets content that conforms to the schema', async () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      properties: {
        sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
        stars: { type: 'integer', minimum: 1, maximum: 5 },
        topics: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 },
        reply: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        meta: { $ref: '#/$defs/meta' },
      },
      required: ['sentiment', 'stars', 'topics', 'reply', 'meta'],
      $defs: {
        meta: {
          type: 'object',
          properties: { confident: { type: 'boolean' } },
          required: ['confident'],
          additionalProperties: false,
        },
      },
    };
    const rows = Array.from({ length: 20 }, (_, i) =>
      chatLine(`s${i}`, `review ${i}`, 'gpt-4o-mini', {
        response_format: { type: 'json_schema', json_schema: { name: 'review', strict: true, schema } },
      }),
    );
    const { output } = await run(rows, '/v1/chat/completions');
    for (const row of output) {
      const content = JSON.parse(
        (row.response!.body.choices as { message: { content: string } }[])[0]!.message.content,
      ) as Record<string, unknown>;
      expect(Object.keys(content).sort()).toEqual(['meta', 'reply', 'sentiment', 'stars', 'topics']);
      expect(['positive', 'negative', 'neutral']).toContain(content.sentiment);
      expect(Number.isInteger(content.stars) && (content.stars as number) >= 1 && (content.stars as number) <= 5).toBe(
        true,
      );
      expect((content.topics as unknown[]).length).toBeGreaterThanOrEqual(1);
      expect((content.topics as unknown[]).length).toBeLessThanOrEqual(3);
      expect(typeof (content.meta as { confident: unknown }).confident).toBe('boolean');
    }
  });
});

describe('per-row failures', () => {
  it('rows fail at the configured rates by code and are written to the error file as OpenAI writes them', async () => {
    fx.emulator.setConfig({ rowErrors: { rate_limit_exceeded: 0.2, server_error: 0.1, context_length_exceeded: 0.1 } });
    const rows = Array.from({ length: 400 }, (_, i) => chatLine(`row-${i}`));
    const { batch, output, errors } = await run(rows, '/v1/chat/completions');
    fx.emulator.setConfig({ rowErrors: { rate_limit_exceeded: 0, server_error: 0, context_length_exceeded: 0 } });
    expect(batch.request_counts).toEqual({ total: 400, completed: output.length, failed: errors.length });
    const byCode: Record<string, number> = {};
    for (const row of errors) {
      expect(validateSchema('BatchRequestOutput', row, { spec: SPEC_2025_06 })).toEqual([]);
      expect(row.error).toBeNull();
      const body = row.response!.body as {
        error: { code: string; type: string; message: string; param: string | null };
      };
      expect(validateSchema('Error', body.error)).toEqual([]);
      const expectedStatus = { rate_limit_exceeded: 429, server_error: 500, context_length_exceeded: 400 }[
        body.error.code
      ];
      expect(row.response!.status_code).toBe(expectedStatus);
      byCode[body.error.code] = (byCode[body.error.code] ?? 0) + 1;
    }
    // 400 draws: each rate lands within a generous band around its expectation.
    expect(byCode.rate_limit_exceeded).toBeGreaterThan(50);
    expect(byCode.rate_limit_exceeded).toBeLessThan(110);
    expect(byCode.server_error).toBeGreaterThan(20);
    expect(byCode.server_error).toBeLessThan(65);
    expect(byCode.context_length_exceeded).toBeGreaterThan(20);
    expect(byCode.context_length_exceeded).toBeLessThan(65);
  });

  it('a row missing a required body parameter fails alone with a 400, and a batch where every row fails has no output file', async () => {
    const { batch, errors } = await run(
      [line('a', '/v1/chat/completions', { model: 'gpt-4o-mini' })],
      '/v1/chat/completions',
    );
    expect(batch.output_file_id).toBeNull();
    expect(batch.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
    expect(errors[0]!.response).toMatchObject({
      status_code: 400,
      body: { error: { type: 'invalid_request_error', code: 'missing_required_parameter', param: 'messages' } },
    });
  });

  it('the enqueued-token limit fails a batch that would exceed what is already in progress with token_limit_exceeded', async () => {
    fx.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': 150 }, rowsPerSecond: 1, validatingSeconds: 0 });
    try {
      const rows = (p: string) =>
        Array.from({ length: 10 }, (_, i) => chatLine(`${p}-${i}`, 'some words to count here'));
      const first = await fx.client.batches.create({
        input_file_id: (await uploadBatchFile(fx.client, await fx.writeJsonl('t1.jsonl', rows('a')))).id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await waitForStatus(fx.client, first.id, ['in_progress']);
      const second = await fx.client.batches.create({
        input_file_id: (await uploadBatchFile(fx.client, await fx.writeJsonl('t2.jsonl', rows('b')))).id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      const failed = await waitForStatus(fx.client, second.id, ['failed', 'in_progress']);
      expect(failed.status).toBe('failed');
      expect(failed.errors?.data?.[0]).toMatchObject({ code: 'token_limit_exceeded', line: null, param: null });
      expect(failed.errors?.data?.[0]?.message).toMatch(
        /^Enqueued token limit reached for gpt-4o-mini in organization org-emulator\. Limit: 150 enqueued tokens\./,
      );
      await fx.client.batches.cancel(first.id);
    } finally {
      fx.emulator.setConfig({ enqueuedTokenLimit: { 'gpt-4o-mini': null }, rowsPerSecond: 'instant' });
    }
  });
});
