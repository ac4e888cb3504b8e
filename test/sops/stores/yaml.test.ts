import { describe, expect, it } from 'vitest';
import { SopsFormatError } from '../../../src/errors.ts';
import { yamlStore } from '../../../src/sops/stores/yaml.ts';
import type { Comment, Entry, Mapping, Node, Scalar, Tree } from '../../../src/sops/tree.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

const SOPS = 'sops:\n    lastmodified: "2026-05-22T20:16:23Z"\n    mac: ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]\n    version: 3.13.2\n';
const META = { lastmodified: '2026-05-22T20:16:23Z', mac: 'ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]', version: '3.13.2' };

/** Comments with the key path of their collection (sops's comment AAD without the final ':'). */
function commentPaths(tree: Tree): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const visit = (node: Node, at: string[]): void => {
    if (node.kind !== 'map' && node.kind !== 'seq') return;
    for (const item of node.items) {
      if (item.kind === 'comment') out.push([at.join('.'), item.text, item.inline === true]);
      else if (item.kind === 'entry') visit(item.value, [...at, item.key]);
      else visit(item, at);
    }
  };
  for (const b of tree.branches) visit(b, []);
  return out;
}

/** Items of a collection as short labels, to check where comments sit among entries. */
function labels(node: Mapping): string[] {
  return node.items.map((item) => (item.kind === 'entry' ? item.key : `#${item.text.trim()}`));
}

function scalar(tree: Tree, ...keys: string[]): Scalar {
  let node: Node | undefined = tree.branches[0];
  for (const key of keys) {
    const entry: Entry | Comment | undefined = node?.kind === 'map' ? node.items.find((i) => i.kind === 'entry' && i.key === key) : undefined;
    node = entry?.kind === 'entry' ? entry.value : undefined;
  }
  if (node?.kind !== 'scalar') throw new Error(`no scalar at ${keys.join('.')}`);
  return node;
}

describe('comment placement', () => {
  it('puts head, line and foot comments where go-yaml + sops put them', () => {
    const file = yamlStore.parsePlain(utf8(
      [
        '# top',
        'a: 1 # line of a',
        'b:',
        '    # head of c',
        '    c: 2',
        '    d:',
        '        - x # line of x',
        '        # head of y',
        '        - y',
        '    # foot of b map',
        '# head of e',
        'e:',
        '# head of f, less indented',
        '    f: 3',
        '',
      ].join('\n'),
    ));
    expect(commentPaths(file.tree)).toEqual([
      ['', ' top', false],
      ['', ' line of a', true],
      ['b', ' head of c', false],
      ['b.d', ' line of x', true],
      ['b.d', ' head of y', false],
      ['b', ' foot of b map', false],
      ['', ' head of e', false],
      ['e', ' head of f, less indented', false],
    ]);
    // Line comments go before their item; head comments too; foot comments after the last item.
    expect(labels(file.tree.branches[0] as Mapping)).toEqual(['#top', '#line of a', 'a', 'b', '#head of e', 'e']);
  });

  it('keeps a key line comment before a nested collection in the parent, not inline', () => {
    const file = yamlStore.parsePlain(utf8('a: # about a\n    b: 1\n'));
    expect(commentPaths(file.tree)).toEqual([['', ' about a', false]]);
  });

  it('treats a comment more indented than the next key as a foot comment of the block above', () => {
    const file = yamlStore.parsePlain(utf8('a:\n    b:\n        c: 1\n        # foot of b\n    d: 2\n'));
    expect(commentPaths(file.tree)).toEqual([['a.b', ' foot of b', false]]);
  });

  it('drops comments inside the sops block and keeps the one before it', () => {
    const file = yamlStore.parseEncrypted(utf8(`a: 1\n# before sops\nsops:\n    # inside\n    version: 3.13.2 # line\n    lastmodified: "x"\n    # trailing inside\n`));
    expect(commentPaths(file.tree)).toEqual([['', ' before sops', false]]);
    expect(file.metadata).toEqual({ version: '3.13.2', lastmodified: 'x' });
  });

  it('records the whole #… token as the comment origin', () => {
    const source = 'a: 1 #c1\n#c2\n';
    const file = yamlStore.parsePlain(utf8(source));
    const spans = (file.tree.branches[0]?.items.filter((i) => i.kind === 'comment') as Comment[]).map((c) => c.origin?.span);
    expect(spans.map((s) => source.slice(s?.start, s?.end))).toEqual(['#c1', '#c2']);
  });
});

describe('reading', () => {
  it('reads every document as a branch, sops only from the first', () => {
    const file = yamlStore.parseEncrypted(utf8(`a: 1\n${SOPS}---\nb: 2\n${SOPS}---\n`));
    expect(file.tree.branches.map((b) => labels(b))).toEqual([['a'], ['b'], []]);
    expect(file.metadata).toEqual(META);
  });

  it('keeps unquoted timestamps, ints and floats of the metadata in their text or number form', () => {
    const file = yamlStore.parseEncrypted(utf8('a: 1\nsops:\n    lastmodified: 2026-05-22T20:16:23Z\n    shamir_threshold: 2\n    mac_only_encrypted: true\n    x: 1.5\n'));
    expect(file.metadata).toEqual({ lastmodified: '2026-05-22T20:16:23Z', shamir_threshold: 2n, mac_only_encrypted: true, x: 1.5 });
  });

  it('expands aliases, and fails fast on an alias bomb', () => {
    const file = yamlStore.parsePlain(utf8('a: &x hello\nb: *x\nc: &m {k: v}\nd: *m\n'));
    expect(scalar(file.tree, 'b').value).toEqual({ type: 'str', value: 'hello' });
    expect(scalar(file.tree, 'd', 'k').value).toEqual({ type: 'str', value: 'v' });

    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const started = performance.now();
    expect(() => yamlStore.parsePlain(utf8(levels.join('\n')))).toThrow(expect.objectContaining({ code: 'yaml-alias-bomb' }));
    // Generous bound: a bomb that were expanded would take minutes and gigabytes.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it.each<[string, string, string]>([
    ['malformed YAML', 'a: [1, 2\n', 'yaml-syntax'],
    ['an unclosed quote', "a: 'x\n", 'yaml-syntax'],
    ['a duplicate key', 'a: 1\n"a": 2\n', 'yaml-duplicate-key'],
    ['an integer key', '1: x\n', 'yaml-non-string-key'],
    ['a bool key', 'true: x\n', 'yaml-non-string-key'],
    ['a null key', '~: x\n', 'yaml-non-string-key'],
    ['a collection key', '[a]: x\n', 'yaml-non-string-key'],
    ['a sequence document', '- a\n- b\n', 'yaml-root-not-mapping'],
    ['a scalar document', 'hello\n', 'yaml-root-not-mapping'],
    ['an unknown alias', 'a: *nope\n', 'yaml-unknown-alias'],
    ['bytes that are not UTF-8', '\u0000', 'yaml-not-utf8'],
  ])('rejects %s with a typed error', (_what, source, code) => {
    const bytes = code === 'yaml-not-utf8' ? Uint8Array.of(0x61, 0x3a, 0x20, 0xff, 0x0a) : utf8(source);
    let error: unknown;
    try {
      yamlStore.parsePlain(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SopsFormatError);
    expect(error).toMatchObject({ code });
  });

  it('names the line of a syntax error without quoting the file', () => {
    const source = utf8('a: 1\nb: secretvalue: d\n');
    expect(() => yamlStore.parsePlain(source)).toThrow(/^invalid YAML at line 2, column \d+: /);
    expect(() => yamlStore.parsePlain(source)).not.toThrow(/secretvalue/);
  });

  it('refuses encrypted reads without metadata and plain reads with it', () => {
    expect(() => yamlStore.parseEncrypted(utf8('a: 1\n'))).toThrow(expect.objectContaining({ code: 'metadata-not-found', message: 'sops metadata not found' }));
    expect(() => yamlStore.parsePlain(utf8(`a: 1\n${SOPS}`))).toThrow(expect.objectContaining({ code: 'already-encrypted' }));
    expect(() => yamlStore.parseEncrypted(utf8('a: 1\nsops: 3\n'))).toThrow(expect.objectContaining({ code: 'sops-metadata-not-mapping' }));
    expect(() => yamlStore.parseEncrypted(utf8(`a: 1\n${SOPS}${SOPS}`))).toThrow(SopsFormatError);
  });

  it('reads an empty document as an empty mapping', () => {
    expect(yamlStore.parsePlain(utf8('---\n')).tree.branches).toEqual([{ kind: 'map', items: [] }]);
    expect(yamlStore.parsePlain(utf8('~\n')).tree.branches).toEqual([{ kind: 'map', items: [] }]);
  });
});

describe('writing an encrypted file', () => {
  it('appends the sops block to every document of a plain file', () => {
    const file = yamlStore.parsePlain(utf8('a: 1\n# tail\n---\nb: x\n'));
    const out = text(yamlStore.emitEncrypted(file, META));
    expect(out).toBe(`a: 1\n# tail\n${SOPS}---\nb: x\n${SOPS}`);
    expect(yamlStore.parseEncrypted(utf8(out)).metadata).toEqual(META);
  });

  it('adds a final line break when the file has none', () => {
    const file = yamlStore.parsePlain(utf8('a: 1'));
    expect(text(yamlStore.emitEncrypted(file, META))).toBe(`a: 1\n${SOPS}`);
  });

  it('writes metadata strings the way sops 3.13 does', () => {
    const file = yamlStore.parsePlain(utf8('a: 1\n'));
    const out = text(yamlStore.emitEncrypted(file, {
      age: [{ enc: '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n', recipient: 'age1xyz' }],
      gcp_kms: [{ created_at: '2026-05-22T20:16:20Z', enc: 'CiQA', resource_id: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' }],
      kms: [{ arn: 'arn:aws:kms:x', aws_profile: '', context: { Team: 'a b' }, created_at: '2026-05-22T20:16:20Z', enc: 'AQI=' }],
      lastmodified: '2026-05-22T20:16:23Z',
      mac_only_encrypted: true,
      shamir_threshold: 2n,
      unencrypted_regex: '^(id|note)$',
      version: '3.13.2',
    }));
    expect(out).toBe(
      [
        'a: 1',
        'sops:',
        '    age:',
        '        - enc: |',
        '            -----BEGIN AGE ENCRYPTED FILE-----',
        '            YWdl',
        '            -----END AGE ENCRYPTED FILE-----',
        '          recipient: age1xyz',
        '    gcp_kms:',
        '        - created_at: "2026-05-22T20:16:20Z"',
        '          enc: CiQA',
        '          resource_id: projects/p/locations/l/keyRings/r/cryptoKeys/k',
        '    kms:',
        '        - arn: arn:aws:kms:x',
        '          aws_profile: ""',
        '          context:',
        '            Team: a b',
        '          created_at: "2026-05-22T20:16:20Z"',
        '          enc: AQI=',
        '    lastmodified: "2026-05-22T20:16:23Z"',
        '    mac_only_encrypted: true',
        '    shamir_threshold: 2',
        '    unencrypted_regex: ^(id|note)$',
        '    version: 3.13.2',
        '',
      ].join('\n'),
    );
    const back = yamlStore.parseEncrypted(utf8(out)).metadata;
    expect(back?.kms).toEqual([{ arn: 'arn:aws:kms:x', aws_profile: '', context: { Team: 'a b' }, created_at: '2026-05-22T20:16:20Z', enc: 'AQI=' }]);
    expect(back?.age).toEqual([{ enc: '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n', recipient: 'age1xyz' }]);
  });

  it('re-renders only changed values and comments, keeping tags, quoting and layout elsewhere', () => {
    const source = `# c1\nplain: hello # c2\nquoted: "010"\nblock: |\n    two\n    lines\nlist: [a, b]\nkeep: !!str 1\n${SOPS}`;
    const file = yamlStore.parseEncrypted(utf8(source));
    const enc = (s: string) => ({ type: 'str' as const, value: `ENC[AES256_GCM,data:${s},iv:AA==,tag:BB==,type:str]` });
    scalar(file.tree, 'plain').value = enc('p');
    scalar(file.tree, 'block').value = enc('b');
    const list = file.tree.branches[0]?.items.find((i) => i.kind === 'entry' && i.key === 'list');
    if (list?.kind === 'entry' && list.value.kind === 'seq') (list.value.items[1] as Scalar).value = enc('l');
    const comment = file.tree.branches[0]?.items[0] as Comment;
    comment.text = 'ENC[AES256_GCM,data:c,iv:AA==,tag:BB==,type:comment]';
    const out = text(yamlStore.emitEncrypted(file, META));
    expect(out).toBe(
      '#ENC[AES256_GCM,data:c,iv:AA==,tag:BB==,type:comment]\n' +
        'plain: ENC[AES256_GCM,data:p,iv:AA==,tag:BB==,type:str] # c2\n' +
        'quoted: "010"\n' +
        'block: ENC[AES256_GCM,data:b,iv:AA==,tag:BB==,type:str]\n' +
        // Inside a flow sequence the commas of ENC[...] need quotes.
        'list: [a, "ENC[AES256_GCM,data:l,iv:AA==,tag:BB==,type:str]"]\n' +
        'keep: !!str 1\n' +
        SOPS,
    );
  });

  it('writes non-ASCII text as UTF-8, around values rewritten longer or shorter', () => {
    const source = `# café\ngrüße: ü\nplain: x\nemoji: 😀 # ok\n`;
    const file = yamlStore.parsePlain(utf8(source));
    scalar(file.tree, 'grüße').value = { type: 'str', value: 'ünïcödé 😀😀😀 ∑' };
    scalar(file.tree, 'plain').value = { type: 'str', value: '日本語のテキスト' };
    scalar(file.tree, 'emoji').value = { type: 'str', value: 'a' };
    const bytes = yamlStore.emitPlain(file.tree, file);
    const expected = `# café\ngrüße: ünïcödé 😀😀😀 ∑\nplain: 日本語のテキスト\nemoji: a # ok\n`;
    expect(text(bytes)).toBe(expected);
    expect(bytes.length).toBe(utf8(expected).length);
  });

  it('refuses to write nodes that have no source position', () => {
    const file = yamlStore.parsePlain(utf8('a: 1\n'));
    const root = file.tree.branches[0] as Mapping;
    root.items.push({ kind: 'entry', key: 'b', value: { kind: 'scalar', value: { type: 'str', value: 'new' } } });
    expect(() => yamlStore.emitEncrypted(file, META)).toThrow(expect.objectContaining({ code: 'yaml-new-node' }));
  });

  it('writes a scalar alias out in full when its anchor is rewritten', () => {
    const file = yamlStore.parsePlain(utf8('a: &x hello\nb_unencrypted: *x\n'));
    scalar(file.tree, 'a').value = { type: 'str', value: 'ENC[AES256_GCM,data:p,iv:AA==,tag:BB==,type:str]' };
    const out = text(yamlStore.emitEncrypted(file, META));
    expect(out).toBe(`a: ENC[AES256_GCM,data:p,iv:AA==,tag:BB==,type:str]\nb_unencrypted: hello\n${SOPS}`);
  });

  it('refuses to rewrite values behind a collection alias', () => {
    const file = yamlStore.parsePlain(utf8('a: &m {k: v}\nb: *m\n'));
    scalar(file.tree, 'b', 'k').value = { type: 'str', value: 'ENC[AES256_GCM,data:p,iv:AA==,tag:BB==,type:str]' };
    expect(() => yamlStore.emitEncrypted(file, META)).toThrow(expect.objectContaining({ code: 'yaml-alias-changed' }));
  });
});

describe('writing plaintext', () => {
  it('substitutes decrypted values so they read back with their types', () => {
    const source = `a: x\nb: x\nc: x\nd: x\ne: x\nf: x\ng: x\nh: x\nlist:\n    - x # note\n${SOPS}`;
    const file = yamlStore.parseEncrypted(utf8(source));
    const values = {
      a: { type: 'str', value: '010' },
      b: { type: 'int', value: 10n },
      c: { type: 'float', value: 1 },
      d: { type: 'bool', value: true },
      e: { type: 'time', value: '2024-01-01T00:00:00Z' },
      f: { type: 'str', value: 'two\nlines\n' },
      g: { type: 'str', value: '' },
      h: { type: 'str', value: 'True' },
    } as const;
    for (const [key, value] of Object.entries(values)) scalar(file.tree, key).value = value;
    const out = text(yamlStore.emitPlain(file.tree, file));
    expect(out).toBe('a: "010"\nb: 10\nc: 1.0\nd: true\ne: 2024-01-01T00:00:00Z\nf: |\n    two\n    lines\ng: ""\nh: "True"\nlist:\n    - x # note\n');
    const back = yamlStore.parsePlain(utf8(out));
    for (const [key, value] of Object.entries(values)) expect(scalar(back.tree, key).value).toEqual(value);
  });

  it('prints a tree without a source in sops layout', () => {
    const tree: Tree = {
      branches: [
        {
          kind: 'map',
          items: [
            { kind: 'comment', text: ' head' },
            { kind: 'comment', text: ' inline', inline: true },
            { kind: 'entry', key: 'a', value: { kind: 'scalar', value: { type: 'str', value: 'yes' } } },
            { kind: 'entry', key: 'b', value: { kind: 'seq', items: [{ kind: 'scalar', value: { type: 'int', value: 1n } }, { kind: 'null' }, { kind: 'map', items: [{ kind: 'entry', key: 'c', value: { kind: 'scalar', value: { type: 'str', value: 'l1\nl2' } } }, { kind: 'entry', key: 'd', value: { kind: 'map', items: [] } }] }] } },
          ],
        },
        { kind: 'map', items: [] },
      ],
    };
    const out = text(yamlStore.emitPlain(tree));
    expect(out).toBe('# head\na: "yes" # inline\nb:\n    - 1\n    - null\n    - c: |-\n        l1\n        l2\n      d: {}\n---\n{}\n');
    const back = yamlStore.parsePlain(utf8(out));
    expect(back.tree.branches.length).toBe(2);
    expect(scalar(back.tree, 'a').value).toEqual({ type: 'str', value: 'yes' });
  });
});
