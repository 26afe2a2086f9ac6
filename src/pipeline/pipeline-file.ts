// A pipeline definition as a JSON or YAML file: the same shape as `EnrichTableInput` in code, with
// `template.responseFormat.schema` a JSON Schema that `strictJsonSchema` makes strict. Every
// mistake is one line naming the file, the field path and the fix. No secrets in the file.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { optionIssues } from '../../common/job-options.ts';
import type { EnrichTableInput } from '../../workflows/enrich/enrich-types.ts';
import { strictJsonSchema } from '../requests/index.ts';

/** A pipeline file that cannot be used: `message` is one line per mistake. */
export class PipelineFileError extends Error {
  readonly lines: readonly string[];
  constructor(lines: readonly string[]) {
    super(lines.join('\n'));
    this.lines = lines;
    this.name = 'PipelineFileError';
  }
}

const count = z.number().int().positive();
const ms = z.number().int().nonnegative();
const price = z.strictObject({
  input: z.number().nonnegative(),
  cachedInput: z.number().nonnegative(),
  output: z.number().nonnegative(),
});
const sqlParam = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const jobOptions = z.strictObject({
  maxActiveBatches: count.optional(),
  maxRounds: count.optional(),
  limits: z
    .strictObject({
      maxRequests: count.optional(),
      maxBytes: count.optional(),
      maxEmbeddingInputs: count.optional(),
      maxTokensPerBatch: count.optional(),
    })
    .optional(),
  prices: z.record(z.string(), price).optional(),
  maxCostUsd: z.number().positive().optional(),
  deadline: z.union([z.number(), z.string()]).optional(),
  retryInvalidOutput: z.boolean().optional(),
  wait: z
    .strictObject({
      minPollMs: ms.optional(),
      maxPollMs: ms.optional(),
      validatingPollMs: ms.optional(),
      progressRefreshMs: ms.optional(),
      tokenLimitBackoffMs: ms.optional(),
      heartbeatTimeoutMs: ms.optional(),
      maxTokenLimitRetries: z.number().int().nonnegative().optional(),
      recoveryWaitMs: ms.optional(),
    })
    .optional(),
  continueAsNewAfterEvents: count.optional(),
  openaiFileTtlSeconds: count.optional(),
});

const sinkColumns = z.strictObject({
  result: z.string().optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  model: z.string().optional(),
  tokens: z.string().optional(),
  batchId: z.string().optional(),
  enrichedAt: z.string().optional(),
});

const PipelineFile = z.strictObject({
  runId: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  connection: z.string().min(1).optional(),
  source: z.strictObject({
    query: z.string().min(1),
    params: z.array(sqlParam).optional(),
    keyColumn: z.string().min(1),
    maxTextChars: count.optional(),
    fetchRows: count.optional(),
  }),
  template: z.strictObject({
    endpoint: z.enum(['/v1/chat/completions', '/v1/responses']).optional(),
    model: z.string().min(1),
    system: z.string().optional(),
    user: z.string().min(1),
    params: z.record(z.string(), z.unknown()).optional(),
    responseFormat: z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
        schema: z.record(z.string(), z.unknown()),
        strict: z.literal(true).optional(),
      })
      .optional(),
  }),
  sink: z.strictObject({
    table: z.string().min(1),
    keyColumn: z.string().min(1),
    fields: z.record(z.string(), z.string()).optional(),
    columns: sinkColumns.optional(),
    onFailed: z.enum(['keep', 'write-status']).optional(),
    runsTable: z.string().min(1).optional(),
  }),
  onInvalid: z.enum(['fail', 'skip']).optional(),
  job: jobOptions.optional(),
});

type PipelineFileShape = z.infer<typeof PipelineFile>;

/** Reads and checks a pipeline file (`.json`, `.yaml` or `.yml`); throws {@link PipelineFileError}. */
export async function loadPipelineFile(path: string): Promise<EnrichTableInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PipelineFileError([
      `${path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(err)})`}: pass the path of a pipeline .yaml or .json file`,
    ]);
  }
  return parsePipeline(text, path);
}

/** Checks a pipeline file's text; `file` names it in every message. */
export function parsePipeline(text: string, file: string): EnrichTableInput {
  const value = parseText(text, file);
  const secrets = secretLines(value, file);
  if (secrets.length > 0) throw new PipelineFileError(secrets);
  const checked = PipelineFile.safeParse(value);
  if (!checked.success) throw new PipelineFileError(issueLines(checked.error.issues, value, file));
  const lines = semanticLines(checked.data, file);
  if (lines.length > 0) throw new PipelineFileError(lines);
  return toInput(checked.data, file);
}

function parseText(text: string, file: string): unknown {
  const json = extname(file).toLowerCase() === '.json';
  try {
    const value: unknown = json ? JSON.parse(text) : parseYaml(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new PipelineFileError([`${file}: is not a pipeline definition (a mapping with source, template and sink)`]);
    return value;
  } catch (err) {
    if (err instanceof PipelineFileError) throw err;
    const where = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const message = (err instanceof Error ? err.message : String(err))
      .split('\n')[0]!
      .replace(/ at line \d+, column \d+:?$/, '');
    throw new PipelineFileError([
      `${file}${where ? `:${where.line}:${where.col}` : ''}: not valid ${json ? 'JSON' : 'YAML'} (${message}): fix the syntax there`,
    ]);
  }
}

// A URL with credentials (scheme://user:password@host) anywhere in the file would reach workflow
// history; the connection belongs on the workers.
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;

function secretLines(value: unknown, file: string, path: (string | number)[] = []): string[] {
  if (typeof value === 'string') {
    const url = URL_WITH_PASSWORD.test(value);
    const isConnection = path.length === 1 && path[0] === 'connection' && value.includes('://');
    if (!url && !isConnection) return [];
    return [
      `${file}: ${dotted(path)}: holds a connection URL${url ? ' with a password' : ''}; secrets never go in a pipeline file ` +
        '(they would land in workflow history): set the URL on the workers (OPENAI_BATCH_PG_URL, DATABASE_URL or PGHOST/PGUSER/PGPASSWORD) ' +
        "and put the environment variable's name here (connection: OPENAI_BATCH_PG_URL)",
    ];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => secretLines(v, file, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => secretLines(v, file, [...path, k]));
  return [];
}

function issueLines(issues: readonly z.core.$ZodIssue[], root: unknown, file: string): string[] {
  // A misspelt required field is one mistake: its did-you-mean line, not also a "missing" line.
  const meant = new Set<string>();
  for (const issue of issues)
    if (issue.code === 'unrecognized_keys')
      for (const key of issue.keys) {
        const known = closest(key, knownKeys(issue.path));
        if (known) meant.add(dotted([...issue.path, known]));
      }
  const missing = (i: z.core.$ZodIssue) => i.code === 'invalid_type' && valueAt(root, i.path) === undefined;
  const lines = issues.filter((i) => !(missing(i) && meant.has(dotted(i.path)))).map((i) => issueLine(i, root, file));
  // Unknown fields first: they often explain the other lines.
  return lines.sort((a, b) => Number(b.includes(': unknown field;')) - Number(a.includes(': unknown field;')));
}

function issueLine(issue: z.core.$ZodIssue, root: unknown, file: string): string {
  const at = (path: PropertyKey[]) => `${file}: ${dotted(path)}`;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys
      .map((key) => {
        const meant = closest(key, known);
        return `${at([...issue.path, key])}: unknown field; ${meant ? `did you mean ${meant}?` : `the fields here are ${known.join(', ')}`}`;
      })
      .join('\n');
  }
  if (issue.code === 'invalid_type' && valueAt(root, issue.path) === undefined)
    return `${at(issue.path)}: missing; add it (${issue.expected})`;
  if (issue.code === 'invalid_value')
    return `${at(issue.path)}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_type')
    return `${at(issue.path)}: must be ${article(issue.expected)}, got ${describe(valueAt(root, issue.path))}`;
  if (issue.code === 'invalid_union') return `${at(issue.path)}: must be a string, a number, true/false or null`;
  return `${at(issue.path)}: ${issue.message}`;
}

/** The keys the schema knows at `path` (an object of the file). */
function knownKeys(path: PropertyKey[]): string[] {
  let node: z.ZodType = PipelineFile;
  for (const key of path) {
    const inner: z.ZodType = node instanceof z.ZodOptional ? (node.unwrap() as z.ZodType) : node;
    if (!(inner instanceof z.ZodObject)) return [];
    node = (inner.shape as Record<string, z.ZodType>)[String(key)] ?? z.never();
  }
  const inner = node instanceof z.ZodOptional ? (node.unwrap() as z.ZodType) : node;
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function semanticLines(file: PipelineFileShape, name: string): string[] {
  const lines = optionIssues((file.job ?? {}) as Parameters<typeof optionIssues>[0]).map(
    (i) => `${name}: ${dotted(['job', ...i.path])}: ${i.message}`,
  );
  const placeholders = [...(file.template.system ?? '').matchAll(/\{\{/g), ...file.template.user.matchAll(/\{\{/g)]
    .length;
  const good = [...`${file.template.system ?? ''}${file.template.user}`.matchAll(/\{\{\s*\w+\s*\}\}/g)].length;
  if (placeholders !== good)
    lines.push(`${name}: template: a placeholder is not of the form {{column}}: write each as {{column_name}}`);
  return lines;
}

function toInput(file: PipelineFileShape, name: string): EnrichTableInput {
  const { responseFormat, ...template } = file.template;
  let strict: EnrichTableInput['template']['responseFormat'];
  if (responseFormat) {
    try {
      strict = strictJsonSchema(z.fromJSONSchema(responseFormat.schema), responseFormat.name);
    } catch (err) {
      throw new PipelineFileError([
        `${name}: template.responseFormat.schema: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}: ` +
          'give a JSON Schema of an object whose properties are all required (nullable types for optional ones)',
      ]);
    }
  }
  return {
    ...file,
    template: { ...template, ...(strict ? { responseFormat: strict } : {}) },
  } as EnrichTableInput;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of path)
    node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  return node;
}

function dotted(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '') ||
    '(top level)'
  );
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

/** The known key nearest to `typed` when it is a plausible typo of it, else undefined. */
function closest(typed: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(best.name.length / 4)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
