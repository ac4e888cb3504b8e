import { describe, expect, it } from 'vitest';
import { compileSelector, DEFAULT_SELECTOR, goRegex } from '../../src/sops/selectors.ts';
import type { Comment, Mapping, Node, Tree } from '../../src/sops/tree.ts';
import { walkTree } from '../../src/sops/walk.ts';

const s = (value: string): Node => ({ kind: 'scalar', value: { type: 'str', value } });
const c = (text: string): Comment => ({ kind: 'comment', text });
const map = (...items: Mapping['items']): Mapping => ({ kind: 'map', items });
const e = (key: string, value: Node) => ({ kind: 'entry' as const, key, value });

function visits(tree: Tree, selector = DEFAULT_SELECTOR) {
  const out: string[] = [];
  walkTree(tree, compileSelector(selector), {
    scalar: (node, v) => out.push(`${v.aad}=${node.value.value as string}${v.encrypt ? '' : ' (clear)'}`),
    comment: (node, v) => out.push(`${v.aad}#${node.text}${v.encrypt ? '' : ' (clear)'}`),
  });
  return out;
}

describe('walking a tree', () => {
  const tree: Tree = {
    branches: [
      map(
        c(' top'),
        e('a', s('1')),
        e('list', { kind: 'seq', items: [s('x'), c(' in list'), map(e('name', s('n')))] }),
        e('nested_unencrypted', map(e('deep', s('d')))),
        e('n', { kind: 'null' }),
      ),
    ],
  };

  it('gives AADs of mapping keys only, with a trailing colon, and skips nulls', () => {
    expect(visits(tree)).toEqual([
      ':# top',
      'a:=1',
      'list:=x',
      'list:# in list',
      'list:name:=n',
      'nested_unencrypted:deep:=d (clear)',
    ]);
  });

  it('selects by any key on the path for regex rules', () => {
    expect(visits(tree, { kind: 'encrypted_regex', value: '^list$' })).toEqual([
      ':# top (clear)',
      'a:=1 (clear)',
      'list:=x',
      'list:# in list',
      'list:name:=n',
      'nested_unencrypted:deep:=d (clear)',
    ]);
  });

  it('keeps a marker comment clear and encrypts what follows it (encrypted_comment_regex)', () => {
    const marked: Tree = { branches: [map(e('plain', s('p')), c('sops:enc'), c(' note'), e('secret', s('s')), e('after', s('q')))] };
    expect(visits(marked, { kind: 'encrypted_comment_regex', value: 'sops:enc' })).toEqual([
      'plain:=p (clear)',
      ':#sops:enc (clear)',
      ':# note',
      'secret:=s',
      'after:=q (clear)',
    ]);
  });

  it('leaves values after a matching comment clear (unencrypted_comment_regex)', () => {
    const marked: Tree = { branches: [map(c('nosops'), e('open', s('o')), e('closed', s('c')))] };
    expect(visits(marked, { kind: 'unencrypted_comment_regex', value: 'nosops' })).toEqual([
      ':#nosops (clear)',
      'open:=o (clear)',
      'closed:=c',
    ]);
  });
});

describe('Go RE2 patterns', () => {
  it('turns leading inline flags into JS flags', () => {
    expect(goRegex('(?i)^PASS', 'encrypted_regex').test('password')).toBe(true);
  });
  it('names the rule when a pattern cannot be used', () => {
    expect(() => goRegex('(', 'encrypted_regex')).toThrow(/encrypted_regex "\(" is not a regular expression/);
  });
});
