// The pipeline file (JSON or YAML) of `openai-batch enrich`: the same shape as `EnrichTableInput`,
// every mistake one line naming the file, the field path and the fix; no secrets accepted.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { z } from 'zod';
import { strictJsonSchema } from '../../src/requests/index.ts';
import { loadPipelineFile, parsePipeline, PipelineFileError } from '../../src/pipeline/pipeline-file.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/nightly-reviews/pipeline.yaml', import.meta.url));

const minimal = {
  source: { query: 'SELECT id, body FROM reviews WHERE sentiment IS NULL', keyColumn: 'id' },
  template: { model: 'gpt-4o-mini', user: 'Review: {{body}}' },
  sink: { table: 'reviews', keyColumn: 'id', fields: { sentiment: 'sentiment' } },
};

/** The lines of the error a pipeline text gets. */
function mistakes(value: unknown, file = 'nightly.yaml'): string[] {
  const text = typeof value === 'string' ? value : stringify(value);
  try {
    parsePipeline(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineFileError);
    const lines = (err as PipelineFileError).lines;
    for (const line of lines) expect(line).not.toContain('\n');
    return [...lines];
  }
  throw new Error('the pipeline was accepted');
}

describe('pipeline files', () => {
  it("the example's YAML gives the typed pipeline, its JSON Schema made strict as strictJsonSchema makes a zod schema", async () => {
    const input = await loadPipelineFile(EXAMPLE);
    expect(input.source).toEqual({
      query: expect.stringContaining('FROM reviews WHERE sentiment IS NULL') as string,
      params: ['now'],
      keyColumn: 'id',
      maxTextChars: 4000,
    });
    expect(input.template.user).toBe('Product: {{product}}\nRating: {{rating}}/5\nReview: {{body}}');
    const labels = z.object({
      sentiment: z.enum(['positive', 'neutral', 'negative']),
      topic: z.enum(['shipping', 'quality', 'price', 'support', 'other']),
      urgency: z.number().int().min(0).max(3),
    });
    expect(input.template.responseFormat).toEqual(strictJsonSchema(labels, 'review_labels'));
    expect(input.sink.columns).toEqual({
      result: 'labels',
      status: 'label_status',
      batchId: 'batch_id',
      enrichedAt: 'labelled_at',
    });
    expect(input.connection).toBe('OPENAI_BATCH_PG_URL');
  });

  it('a JSON file of the same pipeline gives the same input', () => {
    expect(parsePipeline(JSON.stringify(minimal), 'p.json')).toEqual(parsePipeline(stringify(minimal), 'p.yaml'));
  });

  it('an unknown field is named with its path and a did-you-mean', () => {
    expect(mistakes({ ...minimal, sorce: {} })).toEqual(['nightly.yaml: sorce: unknown field; did you mean source?']);
    expect(mistakes({ ...minimal, template: { ...minimal.template, modle: 'x' } })).toEqual([
      'nightly.yaml: template.modle: unknown field; did you mean model?',
    ]);
    expect(mistakes({ ...minimal, sink: { ...minimal.sink, columns: { statuss: 'label_status' } } })).toEqual([
      'nightly.yaml: sink.columns.statuss: unknown field; did you mean status?',
    ]);
  });

  it('a misspelt required field is one line, its did-you-mean, not also "missing"', () => {
    const { keyColumn, ...source } = minimal.source;
    expect(mistakes({ ...minimal, source: { ...source, keyColum: keyColumn } })).toEqual([
      'nightly.yaml: source.keyColum: unknown field; did you mean keyColumn?',
    ]);
  });

  it('a missing field, a wrong type and a wrong choice each name the field and what it must be', () => {
    const { keyColumn: _, ...sink } = minimal.sink;
    expect(mistakes({ ...minimal, sink })).toEqual(['nightly.yaml: sink.keyColumn: missing; add it (string)']);
    expect(mistakes({ ...minimal, source: { ...minimal.source, fetchRows: 'many' } })).toEqual([
      'nightly.yaml: source.fetchRows: must be a number, got string "many"',
    ]);
    expect(mistakes({ ...minimal, sink: { ...minimal.sink, onFailed: 'overwrite' } })).toEqual([
      'nightly.yaml: sink.onFailed: must be one of "keep", "write-status"',
    ]);
    expect(mistakes({ ...minimal, job: { wait: { minPollMs: 5000, maxPollMs: 1000 } } })[0]).toMatch(
      /^nightly\.yaml: job\.wait\.minPollMs: .*lower wait\.minPollMs or raise wait\.maxPollMs$/,
    );
  });

  it('a connection URL with a password is refused anywhere in the file, without echoing the password', () => {
    const lines = mistakes({ ...minimal, connection: 'postgres://app:hunter2@db.example.com/reviews' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^nightly\.yaml: connection: holds a connection URL with a password; .*OPENAI_BATCH_PG_URL/,
    );
    expect(lines[0]).not.toContain('hunter2');
    expect(mistakes({ ...minimal, source: { ...minimal.source, params: ['postgresql://u:pw@h/db'] } })[0]).toMatch(
      /^nightly\.yaml: source\.params\[0\]: holds a connection URL with a password/,
    );
    // A URL without a password is still not a connection name.
    expect(mistakes({ ...minimal, connection: 'postgres://db.example.com/reviews' })[0]).toMatch(
      /^nightly\.yaml: connection: holds a connection URL; /,
    );
  });

  it('YAML and JSON syntax errors name the line', () => {
    expect(mistakes('source:\n  query: [unclosed\nsink: {}\n')[0]).toMatch(/^nightly\.yaml:\d+:\d+: not valid YAML \(/);
    expect(mistakes('{"source": ', 'p.json')[0]).toMatch(/^p\.json: not valid JSON \(/);
    expect(mistakes('- a list\n')[0]).toBe(
      'nightly.yaml: is not a pipeline definition (a mapping with source, template and sink)',
    );
  });

  it('a response schema strict mode cannot take names the problem and the fix', () => {
    const lines = mistakes({
      ...minimal,
      template: {
        ...minimal.template,
        responseFormat: { name: 'labels', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    });
    expect(lines).toEqual([
      expect.stringMatching(/^nightly\.yaml: template\.responseFormat\.schema: .*optional "a".*nullable/) as string,
    ]);
  });

  it('a missing file is one line', async () => {
    await expect(loadPipelineFile('/nonexistent/nightly.yaml')).rejects.toThrow(
      /^\/nonexistent\/nightly\.yaml: no such file: pass the path of a pipeline \.yaml or \.json file$/,
    );
  });
});
