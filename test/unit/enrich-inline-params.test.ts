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

  it('refuses a text it cannot finish, or a parameter without a literal', () => {
    for (const q of ["SELECT 'open", 'SELECT "open', 'SELECT /* open', 'SELECT $q$ open', "SELECT E'\\'"])
      expect(inlineParams(q, L)).toBeUndefined();
    expect(inlineParams('SELECT $4', L)).toBeUndefined();
    expect(inlineParams('SELECT $0', L)).toBeUndefined();
  });
});
