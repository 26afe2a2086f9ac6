/**
 * Checks a value against the subset of JSON Schema that strict structured outputs allow: type
 * (or a type array for nullable), properties, required, additionalProperties: false, enum, const,
 * items, anyOf, and local `$ref`s into `$defs`/`definitions`. Returns the first problem, or null.
 */
export function checkJsonSchema(value: unknown, schema: unknown, root: unknown = schema, path = '$'): string | null {
  if (!schema || typeof schema !== 'object') return null;
  const s = schema as Record<string, unknown>;
  if (typeof s['$ref'] === 'string') {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s['$ref']);
    const target = m
      ? (root as Record<string, Record<string, unknown> | undefined>)[m[1] as string]?.[m[2] as string]
      : undefined;
    return target === undefined
      ? `${path}: unresolvable $ref ${s['$ref']}`
      : checkJsonSchema(value, target, root, path);
  }
  if (Array.isArray(s['anyOf'])) {
    const ok = s['anyOf'].some((sub) => checkJsonSchema(value, sub, root, path) === null);
    if (!ok) return `${path}: matches none of anyOf`;
  }
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => e === value))
    return `${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s['enum'])}`;
  if ('const' in s && s['const'] !== value) return `${path}: must be ${JSON.stringify(s['const'])}`;
  const types = Array.isArray(s['type'])
    ? (s['type'] as string[])
    : typeof s['type'] === 'string'
      ? [s['type']]
      : undefined;
  if (types && !types.some((t) => hasType(value, t)))
    return `${path}: expected ${types.join(' or ')}, got ${typeName(value)}`;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s['properties'] ?? {}) as Record<string, unknown>;
    for (const key of (s['required'] as string[] | undefined) ?? [])
      if (!(key in obj)) return `${path}: missing required property "${key}"`;
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) {
        const problem = checkJsonSchema(v, props[key], root, `${path}.${key}`);
        if (problem) return problem;
      } else if (s['additionalProperties'] === false) return `${path}: unexpected property "${key}"`;
    }
  }
  if (Array.isArray(value) && s['items']) {
    for (let i = 0; i < value.length; i++) {
      const problem = checkJsonSchema(value[i], s['items'], root, `${path}[${i}]`);
      if (problem) return problem;
    }
  }
  return null;
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
