// The pure parts of the Postgres pipeline: a row's request line, connection names, SQL names.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConnection } from '../../src/pipeline/connection.ts';
import { requestLineFor, templateColumns } from '../../src/pipeline/pg-source.ts';
import { quoteName } from '../../src/pipeline/sql-names.ts';
import { strictJsonSchema } from '../../src/requests/index.ts';
import type { EnrichTemplate } from '../../workflows/enrich/enrich-types.ts';

const template: EnrichTemplate = {
  model: 'gpt-4o-mini',
  system: 'Classify reviews of {{product}}.',
  user: 'Review: {{ body }}',
  params: { temperature: 0 },
  responseFormat: strictJsonSchema(z.object({ sentiment: z.enum(['positive', 'negative']) }), 'labels'),
};

describe('a row becomes one request line', () => {
  it('fills the placeholders, keys the line by the key column and asks for strict structured output', () => {
    const built = requestLineFor({ id: 7, product: 'kettle', body: 'Great "kettle"\nboils fast' }, '7', template, 100);
    expect('line' in built).toBe(true);
    const line = JSON.parse((built as { line: string }).line) as Record<string, unknown>;
    expect(line).toMatchObject({
      custom_id: '7',
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        temperature: 0,
        messages: [
          { role: 'system', content: 'Classify reviews of kettle.' },
          { role: 'user', content: 'Review: Great "kettle"\nboils fast' },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'labels', strict: true } },
      },
    });
  });

  it('names the placeholders it reads, each once', () => {
    expect(templateColumns({ ...template, user: '{{body}} / {{product}}' })).toEqual(['product', 'body']);
  });

  it('refuses a NULL column and an over-long one, naming the column', () => {
    expect(requestLineFor({ product: 'kettle', body: null }, '1', template, 100)).toEqual({
      reason: 'null_text',
      message: 'column "body" is NULL',
    });
    expect(requestLineFor({ product: 'kettle', body: 'x'.repeat(101) }, '1', template, 100)).toEqual({
      reason: 'text_too_long',
      message: 'column "body" has 101 characters, more than maxTextChars 100',
    });
  });

  it('refuses a row whose request the planner would refuse (a custom_id over 512 characters)', () => {
    const built = requestLineFor({ product: 'kettle', body: 'ok' }, 'k'.repeat(600), template, 100);
    expect(built).toMatchObject({ reason: 'invalid_request' });
  });
});

describe('connection names', () => {
  it('resolve to the worker’s named connection, else the environment variable of that name', () => {
    expect(resolveConnection('reviews', { reviews: 'postgres://a@h/db' }, {})).toEqual({
      connectionString: 'postgres://a@h/db',
    });
    expect(resolveConnection('MY_DB', {}, { MY_DB: 'postgres://b@h/db' })).toEqual({
      connectionString: 'postgres://b@h/db',
    });
    // The default name falls back to the libpq variables, which pg reads itself.
    expect(resolveConnection(undefined, {}, {})).toEqual({});
  });

  it('refuse a connection string, without repeating it, and an unknown name', () => {
    const refused = (() => {
      try {
        resolveConnection('postgres://u:secret@h/db', {}, {});
      } catch (err) {
        return err as ApplicationFailure;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused?.nonRetryable).toBe(true);
    expect(refused?.message).toContain('is not a connection name');
    expect(refused?.message).not.toContain('secret');
    expect(() => resolveConnection('NOT_SET', {}, {})).toThrow('no Postgres connection named "NOT_SET"');
  });
});

describe('SQL names from the definition', () => {
  it('are quoted plain identifiers; anything else is refused', () => {
    expect(quoteName('reviews', 'sink table', true)).toBe('"reviews"');
    expect(quoteName('app.reviews', 'sink table', true)).toBe('"app"."reviews"');
    expect(() => quoteName('reviews; DROP TABLE x', 'sink table', true)).toThrow('is not a plain SQL identifier');
    expect(() => quoteName('a.b', 'sink column')).toThrow('is not a plain SQL identifier');
  });
});
