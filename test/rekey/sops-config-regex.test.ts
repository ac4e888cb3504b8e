import { describe, expect, it } from 'vitest';
import { translateRe2 } from '../../src/rekey/re2.ts';

function matches(pattern: string, input: string): boolean {
  const result = translateRe2(pattern);
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result.regex.test(input);
}

function refusal(pattern: string): string {
  const result = translateRe2(pattern);
  if (result.ok) throw new Error(`accepted as ${result.regex}`);
  return result.reason;
}

describe('translateRe2: patterns as sops matches them', () => {
  it('searches unanchored, like Go MatchString', () => {
    expect(matches('\\.enc\\.yaml', 'apps/prod/db.enc.yaml')).toBe(true);
    expect(matches('^apps/', 'x/apps/db.yaml')).toBe(false);
  });

  it('a leading (?i) becomes case-insensitive matching', () => {
    expect(matches('(?i)secrets/.*\\.YAML$', 'Secrets/a.yaml')).toBe(true);
    expect(matches('secrets/.*\\.YAML$', 'secrets/a.yaml')).toBe(false);
  });

  it('a scoped flag group keeps its scope', () => {
    expect(matches('(?i:prod)/x', 'PROD/x')).toBe(true);
    expect(matches('(?i:prod)/x', 'PROD/X')).toBe(false);
  });

  it('\\A and \\z anchor at the text ends, even with (?m)', () => {
    expect(matches('(?m)\\Aa$', 'a\nb')).toBe(true);
    expect(matches('(?m)\\Ab', 'a\nb')).toBe(false);
    expect(matches('a\\z', 'a\n')).toBe(false);
  });

  it('escaped punctuation JavaScript would reject under the u flag', () => {
    expect(matches('a\\-b\\@c', 'a-b@c')).toBe(true);
    expect(matches('[\\-x]', '-')).toBe(true);
  });

  it('literal braces and brackets that are not syntax in RE2', () => {
    expect(matches('{env}/x', '{env}/x')).toBe(true);
    expect(matches('a{2}', 'aa')).toBe(true);
    expect(matches('a{2}', 'a{2}')).toBe(false);
    expect(matches('[]x]', ']')).toBe(true);
    expect(matches('a]', 'a]')).toBe(true);
  });

  it('POSIX classes, \\Q…\\E, named groups, \\pL, octal and \\x{…}', () => {
    expect(matches('^[[:digit:]]+$', '2024')).toBe(true);
    expect(matches('^[[:digit:]]+$', '20a4')).toBe(false);
    expect(matches('\\Qa.b\\E', 'a.b')).toBe(true);
    expect(matches('\\Qa.b\\E', 'axb')).toBe(false);
    expect(matches('(?P<env>prod|dev)/', 'dev/x')).toBe(true);
    expect(matches('^\\pL+$', 'Ünïcödé')).toBe(true);
    expect(matches('\\101\\x{42}', 'AB')).toBe(true);
  });

  it('\\s is ASCII space in RE2: a vertical tab is not one', () => {
    expect(matches('a\\sb', 'a\tb')).toBe(true);
    expect(matches('a\\sb', 'a\vb')).toBe(false);
    expect(matches('a\\sb', 'a\u00a0b')).toBe(false);
  });
});

describe('translateRe2: refusals', () => {
  it.each([
    ['\\1', /backreference/],
    ['(?=x)', /lookaround/],
    ['(?<!x)a', /lookaround/],
    ['(?U)a+', /ungreedy/],
    ['a(?i)b', /only supported at the start/],
    ['[a', /missing closing/],
    ['a\\', /trailing backslash/],
    ['[[:^alpha:]x]', /negated POSIX/],
    ['a**', /not a valid regular expression/],
  ])('%s', (pattern, reason) => {
    expect(refusal(pattern)).toMatch(reason);
  });
});
