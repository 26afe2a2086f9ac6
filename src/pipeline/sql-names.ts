import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../common/failures.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/**
 * A table or column name from the pipeline definition, quoted for SQL. Only plain identifiers
 * (optionally `schema.table`) are accepted, so a definition can never inject SQL.
 */
export function quoteName(name: string, what: string, allowSchema = false): string {
  const parts = allowSchema ? name.split('.') : [name];
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw ApplicationFailure.create({
      message: `${what} "${name}" is not a plain SQL identifier${allowSchema ? ' (or schema.table)' : ''}: use letters, digits and _`,
      type: FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  return parts.map((p) => `"${p}"`).join('.');
}
