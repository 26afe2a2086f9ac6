/**
 * A query's `$n` parameters replaced by SQL literals, so that a query with parameters can run
 * where none can be bound (`COPY (query) TO STDOUT`). The text is scanned as Postgres' lexer
 * reads it: `$n` inside a string ('...', E'...', U&'...', $tag$...$tag$), a quoted identifier, a
 * comment (`--`, nested `/* *\/`) or a name (`a$1`) is no parameter and stays as it is. The scan
 * assumes `standard_conforming_strings` on (backslashes escape only in E'...'); the caller checks
 * the setting, and checks the result against the query with its parameters bound (same columns,
 * same types), so that a text this scan misreads is never used.
 */

const isIdentChar = (c: string | undefined): boolean => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c >= '\u0080');
const isTagStart = (c: string | undefined): boolean => c !== undefined && (/[A-Za-z_]/.test(c) || c >= '\u0080');

/**
 * `query` with each parameter `$n` replaced by `literals[n - 1]`, or undefined when the text ends
 * inside a string, identifier or comment, or names a parameter that has no literal.
 */
export function inlineParams(query: string, literals: readonly string[]): string | undefined {
  let out = '';
  let at = 0; // query[at, i) is copied as it is
  let i = 0;
  const n = query.length;
  while (i < n) {
    const c = query[i]!;
    if (c === "'") {
      // E'...' (a backslash escapes the next character) when E starts its own token.
      const escapes = (query[i - 1] === 'E' || query[i - 1] === 'e') && !isIdentChar(query[i - 2]);
      i++;
      for (;;) {
        if (i >= n) return undefined;
        const d = query[i]!;
        if (escapes && d === '\\') i += 2;
        else if (d === "'" && query[i + 1] === "'") i += 2;
        else if (d === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) return undefined;
        if (query[i] === '"' && query[i + 1] === '"') i += 2;
        else if (query[i] === '"') break;
        else i++;
      }
      i++;
    } else if (c === '-' && query[i + 1] === '-') {
      const nl = query.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === '/' && query[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= n) return undefined;
        if (query[i] === '/' && query[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (query[i] === '*' && query[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === '$' && !isIdentChar(query[i - 1])) {
      const digits = /^\$(\d+)/.exec(query.slice(i, i + 12));
      if (digits) {
        const index = Number(digits[1]);
        if (!Number.isSafeInteger(index) || index < 1 || index > literals.length) return undefined;
        // A digit right after the number would have been read into it: never a longer token.
        out += query.slice(at, i) + literals[index - 1]!;
        i += digits[0].length;
        at = i;
        continue;
      }
      // $$...$$ or $tag$...$tag$
      let j = i + 1;
      if (isTagStart(query[j])) while (j < n && isIdentChar(query[j]) && query[j] !== '$') j++;
      if (query[j] !== '$') {
        i++;
        continue;
      }
      const tag = query.slice(i, j + 1);
      const end = query.indexOf(tag, j + 1);
      if (end === -1) return undefined;
      i = end + tag.length;
    } else if (isIdentChar(c)) {
      // A name or number, `$` included (`a$1` is a name): no parameter inside.
      while (i < n && isIdentChar(query[i])) i++;
    } else i++;
  }
  return out + query.slice(at);
}
