import { z } from 'zod';

/** The structured-output schema a request carries, ready for `response_format` or `text.format`. */
export interface StrictJsonSchema {
  readonly name: string;
  readonly schema: Record<string, unknown>;
  readonly strict: true;
}

type Json = Record<string, unknown>;

// Strict mode demands that every object lists all its properties as required and forbids others;
// an optional field must be expressed as nullable instead, so we refuse it rather than guess.
function tighten(node: unknown, path: string): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => tighten(n, `${path}[${i}]`));
    return;
  }
  if (!node || typeof node !== 'object') return;
  const obj = node as Json;
  if (obj['type'] === 'object' || obj['properties']) {
    const props = (obj['properties'] ?? {}) as Json;
    const keys = Object.keys(props);
    const required = new Set((obj['required'] as string[] | undefined) ?? []);
    const optional = keys.filter((k) => !required.has(k));
    if (optional.length > 0) {
      throw new TypeError(optionalPropertiesMessage(path, optional));
    }
    obj['required'] = keys;
    obj['additionalProperties'] = false;
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key !== 'required' && key !== 'enum' && key !== 'const') tighten(value, path ? `${path}.${key}` : key);
  }
}

function optionalPropertiesMessage(path: string, optional: readonly string[]): string {
  return (
    `structured outputs in strict mode need every property required; ${path || 'the schema'} has optional ` +
    `${optional.map((k) => `"${k}"`).join(', ')}: use .nullable() instead of .optional()`
  );
}

/** Turns a zod schema into the strict JSON schema that OpenAI's structured outputs accept. */
export function strictJsonSchema(schema: z.ZodType, name = 'result'): StrictJsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Json;
  delete json['$schema'];
  tighten(json, '');
  return { name, schema: json, strict: true };
}
