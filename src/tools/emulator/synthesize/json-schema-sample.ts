import type { SeededRandom } from '../seeded-random.ts';
import { sentence } from './text-generator.ts';

type Schema = Record<string, unknown>;

/**
 * A value that conforms to a JSON schema, chosen deterministically: enough of JSON Schema for
 * structured outputs (objects, arrays, enums, const, anyOf/oneOf/allOf, local $ref, string formats,
 * numeric bounds), so structured-output pipelines can be tested against the emulator.
 */
export function sampleFromSchema(schema: unknown, random: SeededRandom, root: unknown = schema, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return null;
  const s = schema as Schema;
  if (typeof s.$ref === 'string') return sampleFromSchema(resolveRef(root, s.$ref), random, root, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return random.pick(s.enum);
  const variants = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants) && variants.length > 0) {
    // Prefer a non-null variant so nullable fields still carry a value.
    const nonNull = variants.filter((v) => (v as Schema | null)?.type !== 'null');
    return sampleFromSchema(random.pick(nonNull.length > 0 ? nonNull : variants), random, root, depth + 1);
  }
  if (Array.isArray(s.allOf)) {
    const merged: Schema = {};
    for (const part of s.allOf as Schema[]) Object.assign(merged, part);
    return sampleFromSchema(merged, random, root, depth + 1);
  }
  const type = Array.isArray(s.type) ? ((s.type as unknown[]).find((t) => t !== 'null') ?? 'null') : s.type;
  switch (type) {
    case 'object':
      return sampleObject(s, random, root, depth);
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 1;
      const max = typeof s.maxItems === 'number' ? s.maxItems : Math.max(min, 3);
      const n = random.int(min, Math.max(min, max));
      return Array.from({ length: n }, () => sampleFromSchema(s.items ?? {}, random, root, depth + 1));
    }
    case 'string':
      return sampleString(s, random);
    case 'integer':
    case 'number': {
      const min = num(s.minimum) ?? (num(s.exclusiveMinimum) ?? -1) + 1;
      const max = num(s.maximum) ?? (num(s.exclusiveMaximum) ?? min + 101) - 1;
      const value = min + random.next() * Math.max(0, max - min);
      return type === 'integer' ? Math.min(max, Math.max(min, Math.round(value))) : Math.round(value * 100) / 100;
    }
    case 'boolean':
      return random.next() < 0.5;
    case 'null':
      return null;
    default:
      return s.properties ? sampleObject(s, random, root, depth) : sentence(random, 3);
  }
}

function sampleObject(s: Schema, random: SeededRandom, root: unknown, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = (s.properties ?? {}) as Record<string, unknown>;
  // Strict structured outputs require every property, so all are filled in.
  for (const [key, value] of Object.entries(properties)) out[key] = sampleFromSchema(value, random, root, depth + 1);
  return out;
}

function sampleString(s: Schema, random: SeededRandom): string {
  switch (s.format) {
    case 'date-time':
      return new Date(Date.UTC(2025, 0, 1) + random.int(0, 365) * 86_400_000).toISOString();
    case 'date':
      return new Date(Date.UTC(2025, 0, 1) + random.int(0, 365) * 86_400_000).toISOString().slice(0, 10);
    case 'email':
      return `user${random.int(1, 999)}@example.com`;
    case 'uuid':
      return '00000000-0000-4000-8000-' + String(random.int(0, 999_999_999_999)).padStart(12, '0');
    default: {
      let text = sentence(random, random.int(2, 6));
      const min = num(s.minLength) ?? 0;
      const max = num(s.maxLength);
      while (text.length < min) text += ' ' + sentence(random, 3);
      return max !== undefined ? text.slice(0, max) : text;
    }
  }
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const segment of ref.slice(1).split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node ?? {};
}
