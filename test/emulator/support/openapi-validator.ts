import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

export const CURRENT_SPEC = '/work/shared/reference/openai-openapi.yaml';
export const SPEC_2025_06 = '/work/shared/reference/openai-openapi-2025-06.yaml';

const loaded = new Map<string, Schema>();

/**
 * Parsing the 3 MB YAML takes seconds on a shared machine, so the parsed spec is cached as JSON in
 * the temp dir, keyed by the file's size and mtime (a changed spec is parsed again).
 */
function loadSpec(path: string): Schema {
  let spec = loaded.get(path);
  if (spec) return spec;
  const { size, mtimeMs } = statSync(path);
  const cache = join(tmpdir(), `openapi-${basename(path)}-${size}-${Math.floor(mtimeMs)}.json`);
  try {
    spec = JSON.parse(readFileSync(cache, 'utf8')) as Schema;
  } catch {
    spec = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as Schema;
    const tmp = `${cache}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(spec));
    renameSync(tmp, cache);
  }
  loaded.set(path, spec);
  return spec;
}

/**
 * Checks a value against a component schema of the OpenAPI spec: `$ref`, `allOf`/`anyOf`/`oneOf`,
 * types, enums, required fields, nullability (`nullable: true`, `type: 'null'`), item and property
 * schemas, and (strict) no property the spec does not define. One deliberate leniency: an
 * optional property may be `null`, because the API sends `null` for absent optional fields (for
 * example `Batch.output_file_id`) while the spec only marks them optional.
 *
 * Returns the problems found, each with its JSON path; an empty list means the value conforms.
 */
export function validateSchema(
  schemaName: string,
  value: unknown,
  options: { spec?: string; strict?: boolean } = {},
): string[] {
  const spec = loadSpec(options.spec ?? CURRENT_SPEC);
  const problems: string[] = [];
  const validator = new Validator(spec, options.strict ?? true, problems);
  validator.check({ $ref: `#/components/schemas/${schemaName}` }, value, '$');
  return problems;
}

class Validator {
  readonly #spec: Schema;
  readonly #strict: boolean;
  readonly #problems: string[];

  constructor(spec: Schema, strict: boolean, problems: string[]) {
    this.#spec = spec;
    this.#strict = strict;
    this.#problems = problems;
  }

  resolve(schema: Schema): Schema {
    let current = schema;
    for (let i = 0; typeof current.$ref === 'string' && i < 20; i++) {
      const ref = current.$ref;
      let node: unknown = this.#spec;
      for (const part of ref.replace(/^#\//, '').split('/'))
        node = (node as Schema)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (!node) throw new Error(`unresolvable $ref ${ref}`);
      current = node as Schema;
    }
    return current;
  }

  allowsNull(raw: Schema): boolean {
    const schema = this.resolve(raw);
    if (schema.nullable === true || schema.type === 'null') return true;
    if (Array.isArray(schema.type) && schema.type.includes('null')) return true;
    for (const key of ['anyOf', 'oneOf'] as const) {
      const variants = schema[key] as Schema[] | undefined;
      if (variants?.some((v) => this.allowsNull(v))) return true;
    }
    const allOf = schema.allOf as Schema[] | undefined;
    return !!allOf && allOf.length > 0 && allOf.every((v) => this.allowsNull(v));
  }

  /** Properties and required names of an object schema, merged through `allOf`. */
  shape(raw: Schema): { properties: Record<string, Schema>; required: Set<string>; open: boolean } {
    const schema = this.resolve(raw);
    const properties: Record<string, Schema> = { ...((schema.properties as Record<string, Schema> | undefined) ?? {}) };
    const required = new Set<string>((schema.required as string[] | undefined) ?? []);
    let open = schema.additionalProperties !== undefined && schema.additionalProperties !== false;
    if (!schema.properties && !schema.allOf) open = true;
    for (const part of (schema.allOf as Schema[] | undefined) ?? []) {
      const inner = this.shape(part);
      Object.assign(properties, inner.properties);
      for (const r of inner.required) required.add(r);
      open ||= inner.open;
    }
    if (schema.anyOf || schema.oneOf) open = true;
    return { properties, required, open };
  }

  /** Runs `check` into a scratch list, to try one variant of anyOf/oneOf. */
  matches(schema: Schema, value: unknown, path: string): boolean {
    const scratch: string[] = [];
    new Validator(this.#spec, this.#strict, scratch).check(schema, value, path);
    return scratch.length === 0;
  }

  check(raw: Schema, value: unknown, path: string): void {
    const schema = this.resolve(raw);
    if (value === null) {
      if (!this.allowsNull(schema)) this.#problems.push(`${path}: null is not allowed`);
      return;
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const variants = schema[key] as Schema[] | undefined;
      if (variants && !variants.some((v) => this.matches(v, value, path))) {
        this.#problems.push(`${path}: matches none of the ${key} variants`);
        return;
      }
    }
    for (const part of (schema.allOf as Schema[] | undefined) ?? []) this.checkWithoutStrictness(part, value, path);
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
      this.#problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    }
    const types = (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []) as string[];
    if (types.length > 0 && !types.some((t) => typeMatches(t, value))) {
      this.#problems.push(`${path}: expected ${types.join('|')}, got ${Array.isArray(value) ? 'array' : typeof value}`);
      return;
    }
    if (Array.isArray(value) && schema.items) {
      value.forEach((item, i) => this.check(schema.items as Schema, item, `${path}[${i}]`));
    }
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      (schema.properties || schema.allOf || schema.required)
    ) {
      this.checkObject(schema, value as Record<string, unknown>, path);
    }
  }

  /** allOf parts see the whole object, so each part alone must not reject the others' keys. */
  checkWithoutStrictness(part: Schema, value: unknown, path: string): void {
    new Validator(this.#spec, false, this.#problems).check(part, value, path);
  }

  checkObject(schema: Schema, value: Record<string, unknown>, path: string): void {
    const { properties, required, open } = this.shape(schema);
    const own = (this.resolve(schema).properties as Record<string, Schema> | undefined) ?? {};
    for (const name of required) {
      if (!(name in value) || value[name] === undefined) this.#problems.push(`${path}.${name}: required but missing`);
    }
    for (const [name, v] of Object.entries(value)) {
      if (!properties[name]) {
        if (this.#strict && !open) this.#problems.push(`${path}.${name}: not defined by the schema`);
        continue;
      }
      if (v === null && !required.has(name)) continue;
      // Properties that come from allOf parts were checked with their part.
      const propertySchema = own[name];
      if (propertySchema) this.check(propertySchema, v, `${path}.${name}`);
    }
  }
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return true;
  }
}
