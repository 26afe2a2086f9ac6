import { inputTexts, promptTokens } from './prompt-tokens.ts';
import { missingParameter, type RowResult, type SynthesisContext } from './row-result.ts';
import { SeededRandom } from '../seeded-random.ts';

const DIMENSIONS: Record<string, number> = {
  'text-embedding-3-large': 3072,
  'text-embedding-3-small': 1536,
  'text-embedding-ada-002': 1536,
};

/** A `list` of unit-length embeddings; each vector depends only on its input, so equal inputs embed equally. */
export function embeddingList(body: Record<string, unknown>, _ctx: SynthesisContext): RowResult {
  if (typeof body.model !== 'string') return missingParameter('model');
  const inputs = inputTexts(body.input);
  if (inputs.length === 0) return missingParameter('input');
  const model = body.model;
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : (DIMENSIONS[model] ?? 1536);
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((input, index) => {
    const vector = unitVector(new SeededRandom(`${model}\u0000${String(input)}`), dimensions);
    return {
      object: 'embedding',
      index,
      embedding: base64
        ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')
        : Array.from(vector),
    };
  });
  const tokens = promptTokens('/v1/embeddings', body);
  return {
    ok: true,
    usage: { input: tokens, cached: 0, output: 0, reasoning: 0 },
    body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

function unitVector(random: SeededRandom, dimensions: number): Float32Array {
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = random.next() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) v[i] = (v[i] ?? 0) * scale;
  return v;
}
