// The export inlines a query's parameters as literals so that COPY can run it (pg-source.ts,
// copySource): `$n` must be replaced where Postgres reads a parameter and nowhere else (strings,
// quoted identifiers, comments, dollar quotes, names), and a text the scan cannot finish is refused.
import { describe, expect, it } from 'vitest';
import { inlineParams } from '../../src/pipeline/inline-params.ts';

const L = ['<one>', '<two>', '<three>'];

describe('inlineParams', () => {
  it('replaces parameters, longest number first, wherever an expression can stand', () => {
    expect(inlineParams('SELECT $1, $2::int, f($3)', L)).toBe('SELECT <one>, <two>::int, f(<three>)');
    expect(inlineParams('WHERE a=$1 AND b IN($2,$1)', L)).toBe('WHERE a=<one> AND b IN(<two>,<one>)');
    expect(inlineParams('SELECT $1', ['x', '', '', '', '', '', '', '', '', '', 'eleven'])).toBe('SELECT x');
    expect(inlineParams('SELECT $11', ['x', '', '', '', '', '', '', '', '', '', 'eleven'])).toBe('SELECT eleven');
  });

  it('leaves $n alone inside strings, identifiers, comments, dollar quotes and names', () => {
    const cases = [
      "SELECT '$1', 'it''s $2'",
      "SELECT E'\\' $1 \\\\', e'$2'",
      "SELECT U&'$1', B'0101'",
      'SELECT "$1", "a""$2"',
      'SELECT 1 -- $1\n',
      'SELECT /* $1 /* nested $2 */ still $3 */ 1',
      'SELECT $$ $1 $$, $tag$ $2 $x$ $tag$',
      'SELECT a$1, _x$2 FROM t$3',
    ];
    for (const q of cases) expect(inlineParams(q, L)).toBe(q);
    expect(inlineParams("SELECT 'a' || $1 || E'\\'$2' -- $3\n, $2", L)).toBe(
      "SELECT 'a' || <one> || E'\\'$2' -- $3\n, <two>",
    );
    // In a standard string a backslash is a character: the quote after it ends the string.
    expect(inlineParams("SELECT 'a\\', $1", L)).toBe("SELECT 'a\\', <one>");
  });

  it('reads comments, E-strings and continued strings as Postgres does (found in review)', () => {
    // A `--` comment ends at a carriage return too: the `$1` after it, in a string, is no parameter.
    expect(inlineParams("SELECT $1 --x\r AND a = '\n $1 ' AND c = 'q' -- '\n", L)).toBe(
      "SELECT <one> --x\r AND a = '\n $1 ' AND c = 'q' -- '\n",
    );
    // A continued segment of an E-string is an E-string: `\'` escapes its quote.
    const continued = "SELECT $1 AND a = E'p'\n  '\\' $1 ' AND c = 'q' -- '";
    expect(inlineParams(continued, L)).toBe(continued.replace('$1', '<one>'));
    // So is a continued standard string, with a comment between the segments.
    expect(inlineParams("SELECT 'a'\n-- note\n' $1 ', $2", L)).toBe("SELECT 'a'\n-- note\n' $1 ', <two>");
    expect(inlineParams("SELECT 'a' -- note\n' $1 ', $2", L)).toBe("SELECT 'a' -- note\n' $1 ', <two>");
    // `e'` right after a dollar quote is an E-string; after a longer name it is not.
    expect(inlineParams("SELECT $$x$$e'\\' $1 ', $2", L)).toBe("SELECT $$x$$e'\\' $1 ', <two>");
  });

  it('refuses a text it cannot finish, or a parameter without a literal', () => {
    for (const q of ["SELECT 'open", 'SELECT "open', 'SELECT /* open', 'SELECT $q$ open', "SELECT E'\\'"])
      expect(inlineParams(q, L)).toBeUndefined();
    expect(inlineParams('SELECT $4', L)).toBeUndefined();
    expect(inlineParams('SELECT $0', L)).toBeUndefined();
  });
});
