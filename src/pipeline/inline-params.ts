/**
 * A query's `$n` parameters replaced by other SQL text, so that a query with parameters can run
 * where none can be bound (`COPY (query) TO STDOUT`). The text is scanned as Postgres' lexer
 * reads it: `$n` inside a string ('...', E'...', U&'...', $tag$...$tag$, with continuation
 * segments), a quoted identifier, a comment (`--` to the end of the line, nested `/* *\/`) or a
 * name (`a$1`) is no parameter and stays as it is. The scan assumes `standard_conforming_strings`
 * on (backslashes escape only in E'...'); the caller checks the setting. The replacements carry no
 * value (the caller's read the values from settings bound as parameters), so a text this scan
 * misread could change what the query means, never run a value as SQL; the caller also checks the
 * result against the query with its parameters bound (same columns, same types).
 */

const isIdentChar = (c: string | undefined): boolean => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c >= '\u0080');
const isTagStart = (c: string | undefined): boolean => c !== undefined && (/[A-Za-z_]/.test(c) || c >= '\u0080');

/**
 * Where a string continues after its closing quote at `i` (Postgres joins `'a'<newline>'b'`: the
 * second segment is the same string, of the same kind), or -1. Between the segments: whitespace
 * and `--` comments with at least one newline.
 */
function continuationAt(query: string, i: number): number {
  let j = i;
  for (;;) {
    const c = query[j];
    if (c === ' ' || c === '\t' || c === '\f') j++;
    else if (c === '-' && query[j + 1] === '-') {
      while (j < query.length && query[j] !== '\n' && query[j] !== '\r') j++;
    } else break;
  }
  if (query[j] !== '\n' && query[j] !== '\r') return -1;
  for (;;) {
    const c = query[j];
    if (c === ' ' || c === '\t' || c === '\f' || c === '\n' || c === '\r') j++;
    else if (c === '-' && query[j + 1] === '-') {
      while (j < query.length && query[j] !== '\n' && query[j] !== '\r') j++;
    } else return c === "'" ? j : -1;
  }
}

/**
 * `query` with each parameter `$n` replaced by `literals[n - 1]`, or undefined when the text ends
 * inside a string, identifier or comment, or names a parameter that has no literal.
 */
export function inlineParams(query: string, literals: readonly string[]): string | undefined {
  let out = '';
  let at = 0; // query[at, i) is copied as it is
  let i = 0;
  // Where the last name or number token began and ended: `e'` is an E-string only when the `e`
  // is a token of its own (`$$x$$e'...'` is one, `the'...'` is not).
  let nameStart = -1;
  let nameEnd = -1;
  const n = query.length;
  while (i < n) {
    const c = query[i]!;
    if (c === "'") {
      // E'...' (a backslash escapes the next character), and so are its continuation segments.
      const escapes = nameEnd === i && i - nameStart === 1 && (query[i - 1] === 'E' || query[i - 1] === 'e');
      i++;
      for (;;) {
        if (i >= n) return undefined;
        const d = query[i]!;
        if (escapes && d === '\\') i += 2;
        else if (d === "'" && query[i + 1] === "'") i += 2;
        else if (d === "'") {
          const next = continuationAt(query, i + 1);
          if (next === -1) break;
          i = next + 1;
        } else i++;
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
      // To the end of the line: a carriage return ends it too.
      while (i < n && query[i] !== '\n' && query[i] !== '\r') i++;
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
      nameStart = i;
      while (i < n && isIdentChar(query[i])) i++;
      nameEnd = i;
    } else i++;
  }
  return out + query.slice(at);
}
