import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from './user-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs` with errors turned into one-line {@link UserError}s: the flag, and the fix. */
export function parseFlags<O extends Options>(command: string, argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw flagError(command, err, Object.keys(options));
  }
}

function flagError(command: string, err: unknown, known: readonly string[]): UserError {
  const help = `run \`openai-batch ${command} --help\` for the options`;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'(-[^']*)'/.exec(message)?.[1] ?? message;
    const meant = closest(flag.replace(/^-+/, '').replace(/=.*$/, ''), [...known, 'help']);
    return new UserError(`unknown option ${flag}; ${meant ? `did you mean --${meant}?` : help}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--?[\w-]+)/.exec(message)?.[1];
    if (flag && message.includes('argument missing')) return new UserError(`${flag} needs a value; ${help}`);
    if (flag) return new UserError(`${flag} takes no value; ${help}`);
  }
  return new UserError(`${message}; ${help}`);
}

/** The known flag nearest to `typed` when it is a plausible typo of it (edit distance), else undefined. */
function closest(typed: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(typed, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  const allowed = Math.max(2, Math.floor(best.name.length / 4));
  return best.distance <= allowed || best.name.startsWith(typed) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
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
