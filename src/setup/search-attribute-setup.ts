import type { Client } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes.ts';

/** The `temporal` CLI's name of each search attribute type. */
export const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

// temporal.api.enums.v1.IndexedValueType, as ListSearchAttributes answers.
const INDEXED_VALUE_TYPES: Record<SearchAttributeType, number> = {
  [SearchAttributeType.TEXT]: 1,
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.INT]: 3,
  [SearchAttributeType.DOUBLE]: 4,
  [SearchAttributeType.BOOL]: 5,
  [SearchAttributeType.DATETIME]: 6,
  [SearchAttributeType.KEYWORD_LIST]: 7,
};

/**
 * The `temporal` command that registers the project's search attributes on a cluster, one
 * `--name X --type T` pair per attribute. (`--type` pairs with `--name` in order: one `--type`
 * after several `--name`s registers only the first name, as a run of CLI v1.5.1 showed.)
 */
export function searchAttributeCreateCommand(namespace = 'default'): string {
  const pairs = SEARCH_ATTRIBUTE_KEYS.map((k) => `--name ${k.name} --type ${CLI_TYPE_NAMES[k.type]}`);
  return `temporal operator search-attribute create --namespace ${namespace} ${pairs.join(' ')}`;
}

/** A client `Connection` or a worker's `NativeConnection`: both reach the operator service. */
export interface OperatorConnection {
  readonly operatorService: {
    listSearchAttributes(request: {
      namespace: string;
    }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  };
}

/** A search attribute the namespace lacks or holds with another type. */
export interface SearchAttributeProblem {
  readonly name: string;
  readonly expected: string;
  /** The type the namespace has, when it has the name with another type. */
  readonly actual?: string;
}

/**
 * What the namespace lacks of the project's search attributes (empty when all are there with their
 * types). Jobs need them: the job workflow sets them, and an unknown one fails its workflow task.
 */
export async function searchAttributeProblems(
  connection: OperatorConnection,
  namespace: string,
): Promise<SearchAttributeProblem[]> {
  const answer = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = answer.customAttributes ?? {};
  const typeName = (value: number): string => {
    const entry = Object.entries(INDEXED_VALUE_TYPES).find(([, v]) => v === value);
    return entry ? CLI_TYPE_NAMES[entry[0] as SearchAttributeType] : `type ${value}`;
  };
  const problems: SearchAttributeProblem[] = [];
  for (const key of SEARCH_ATTRIBUTE_KEYS) {
    const have = custom[key.name];
    const expected = CLI_TYPE_NAMES[key.type];
    if (have === undefined || have === null) problems.push({ name: key.name, expected });
    else if (Number(have) !== INDEXED_VALUE_TYPES[key.type])
      problems.push({ name: key.name, expected, actual: typeName(Number(have)) });
  }
  return problems;
}

/** One paragraph that says what is wrong and the commands that fix it. */
export function describeSearchAttributeProblems(
  problems: readonly SearchAttributeProblem[],
  namespace: string,
): string {
  const what = problems
    .map((p) => (p.actual ? `${p.name} (is ${p.actual}, must be ${p.expected})` : `${p.name} (${p.expected})`))
    .join(', ');
  const mistyped = problems.some((p) => p.actual);
  return (
    `Temporal namespace "${namespace}" lacks the search attributes the job workflow sets: ${what}. ` +
    (mistyped
      ? 'A mistyped attribute must be removed (temporal operator search-attribute remove) and created again. '
      : '') +
    `Register them once with:\n  ${searchAttributeCreateCommand(namespace)}`
  );
}

/** Starting a job failed because the namespace lacks the project's search attributes. */
export class SearchAttributesMissingError extends Error {
  readonly problems: readonly SearchAttributeProblem[];
  constructor(problems: readonly SearchAttributeProblem[], namespace: string, options?: ErrorOptions) {
    super(describeSearchAttributeProblems(problems, namespace), options);
    this.name = 'SearchAttributesMissingError';
    this.problems = problems;
  }
}

/**
 * Turns the server's refusal of an unknown search attribute into a {@link SearchAttributesMissingError}
 * naming the commands that fix it; returns any other error as it is.
 */
export async function explainStartFailure(client: Client, namespace: string, err: unknown): Promise<unknown> {
  // The client's ServiceError says "Failed to start Workflow"; the server's reason is in its causes.
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error && messages.length < 5; e = e.cause) messages.push(e.message);
  if (!messages.some((m) => /search attribute/i.test(m))) return err;
  const problems = await searchAttributeProblems(client.connection, namespace).catch(() => undefined);
  if (problems?.length === 0) return err;
  // Without permission to list them, name them all: the commands are harmless for existing ones.
  return new SearchAttributesMissingError(
    problems ?? SEARCH_ATTRIBUTE_KEYS.map((k) => ({ name: k.name, expected: CLI_TYPE_NAMES[k.type] })),
    namespace,
    { cause: err },
  );
}
