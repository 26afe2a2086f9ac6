import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from './user-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs` with errors turned into one-line {@link UserError}s that point at `--help`. */
export function parseFlags<O extends Options>(command: string, argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UserError(message, `run \`openai-batch ${command} --help\` for the options`);
  }
}

/** Parses a port number flag, or throws a {@link UserError} naming the flag. */
export function parsePort(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`--${flag} must be a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}
