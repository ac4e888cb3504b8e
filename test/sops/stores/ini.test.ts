import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectLeaves } from '../../../src/sops/stores/dotenv-ini-text.ts';
import { iniStore } from '../../../src/sops/stores/ini.ts';
import type { Comment, RawObject, Scalar, Tree } from '../../../src/sops/tree.ts';
import { formatErrorCode as codeOf } from '../../support/format-error.ts';
import { leavesWithPaths } from '../../support/tree-leaves.ts';
import { VECTORS_DIR } from '../../support/vectors.ts';

const VECTORS = `${VECTORS_DIR}/`;
const vectors = readdirSync(VECTORS).filter((name) => name.endsWith('.ini'));
const utf8 = new TextEncoder();
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const load = (name: string): Uint8Array => readFileSync(VECTORS + name);
const FORMAT = 'getsops-sops__functional-tests-res-format.enc.ini';
const FORMAT_2 = 'getsops-sops__functional-tests-res-format-2.enc.ini';
const EXAMPLE = 'getsops-sops-0b07dfbc5-age__example.ini';

interface Expected {
  sops_version_field: string;
  lastmodified: string;
  leaves: Array<{ path: string[]; encrypted: boolean; type?: string; cleartext_value?: string }>;
  encrypted_comments?: Array<{ line: number; aad: string }>;
}
const expected = (name: string): Expected => JSON.parse(readFileSync(`${VECTORS}${name}.expected.json`, 'utf8'));

const leafText = (node: Scalar | Comment): string =>
  node.kind === 'comment' ? node.text : node.value.type === 'str' ? node.value.value : '';

/** The tree as plain data: section → [key, value] or ['#', comment]. */
const shape = (tree: Tree): unknown =>
  tree.branches[0]!.items.map((section) =>
    section.kind === 'entry' && section.value.kind === 'map'
      ? [section.key, section.value.items.map((item) => (item.kind === 'comment' ? ['#', item.text] : [item.key, leafText(item.value as Scalar)]))]
      : section,
  );


const ENC = 'ENC[AES256_GCM,data:bmV3,iv:aXY=,tag:dGFn,type:str]';

describe('INI store on the sops vectors', () => {
  it('has vectors to check', () => expect(vectors.length).toBeGreaterThanOrEqual(3));

  for (const name of vectors) {
    describe(name, () => {
      const bytes = load(name);
      const want = expected(name);

      it('reads the values in MAC order with their section:key paths, DEFAULT first', () => {
        const file = iniStore.parseEncrypted(bytes);
        const sections = file.tree.branches[0]!.items.map((item) => (item.kind === 'entry' ? item.key : '#'));
        expect(sections[0]).toBe('DEFAULT');
        expect(sections).not.toContain('sops');
        const values = leavesWithPaths(file.tree).filter(([, node]) => node.kind === 'scalar');
        expect(values.map(([path]) => path)).toEqual(want.leaves.map((leaf) => leaf.path));
        values.forEach(([, node], i) => {
          const leaf = want.leaves[i]!;
          if (leaf.encrypted) expect(leafText(node)).toMatch(new RegExp(`^ENC\\[AES256_GCM,.*,type:${leaf.type}\\]$`));
          else expect(leafText(node)).toBe(leaf.cleartext_value);
        });
      });

      it('puts the comment above a header first in its section, its text without "; "', () => {
        const file = iniStore.parseEncrypted(bytes);
        const comments = leavesWithPaths(file.tree).filter(([, node]) => node.kind === 'comment');
        const lines = text(bytes).split('\n');
        expect(comments.map(([path, node]) => [`${path.join(':')}:`, leafText(node)])).toEqual(
          (want.encrypted_comments ?? []).map((c) => [c.aad, lines[c.line - 1]!.replace(/^; /, '')]),
        );
      });

      it('unflattens [sops] into the metadata', () => {
        const md = iniStore.parseEncrypted(bytes).metadata!;
        expect(md.version).toBe(want.sops_version_field);
        expect(md.lastmodified).toBe(want.lastmodified);
        expect(md.mac).toMatch(/^ENC\[AES256_GCM,.*,type:str\]$/);
        expect(md.unencrypted_suffix).toBe('_unencrypted');
      });

      it('writes back a file that reads the same when nothing changed', () => {
        const file = iniStore.parseEncrypted(bytes);
        const out = iniStore.emitEncrypted(file, file.metadata!);
        const again = iniStore.parseEncrypted(out);
        expect(shape(again.tree)).toEqual(shape(file.tree));
        expect(again.metadata).toEqual(file.metadata);
        expect(text(out)).not.toContain('"""');
      });

      it('changes only the line of a changed value (and the [sops] section)', () => {
        const file = iniStore.parseEncrypted(bytes);
        const value = collectLeaves(file.tree).find((leaf): leaf is Scalar => leaf.kind === 'scalar')!;
        value.value = { type: 'str', value: ENC };
        const upToSops = (s: string): string[] => s.slice(0, s.indexOf('[sops]')).split('\n');
        const before = upToSops(text(bytes));
        const after = upToSops(text(iniStore.emitEncrypted(file, file.metadata!)));
        const changed = before.flatMap((line, i) => (line === after[i] ? [] : [i]));
        expect(after).toHaveLength(before.length);
        expect(changed).toHaveLength(1);
        expect(after[changed[0]!]).toMatch(/ = ENC\[AES256_GCM,data:bmV3,/);
      });
    });
  }

  it('reads age enc values as armor with real newlines', () => {
    const age = iniStore.parseEncrypted(load(EXAMPLE)).metadata!.age as RawObject[];
    expect(age.map((entry) => entry.recipient)).toEqual([
      'age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw',
      'age1tmaae3ld5vpevmsh5yacsauzx8jetg300mpvc4ugp5zr5l6ssq9sla97ep',
    ]);
    for (const entry of age) {
      expect(entry.enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END AGE ENCRYPTED FILE-----\n$/);
    }
  });

  it('reads the 3.13.0/3.13.1 """ multi-line metadata like the escaped form', () => {
    const multi = iniStore.parseEncrypted(load(FORMAT_2)).metadata!;
    const escaped = iniStore.parseEncrypted(load(FORMAT)).metadata!;
    const pgp = multi.pgp as RawObject[];
    expect(pgp).toHaveLength(1);
    expect(pgp[0]!.enc).toMatch(/^-----BEGIN PGP MESSAGE-----\n\nwcBM[\s\S]*\n=j3Rn\n-----END PGP MESSAGE-----$/);
    expect(pgp[0]!.fp).toBe('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4');
    expect(Object.keys(multi)).toEqual(Object.keys(escaped));
    expect(Object.keys(pgp[0]!)).toEqual(Object.keys((escaped.pgp as RawObject[])[0]!));
  });

  it('writes a 3.13.2 file byte for byte when nothing changed', () => {
    const bytes = load(FORMAT);
    const file = iniStore.parseEncrypted(bytes);
    expect(text(iniStore.emitEncrypted(file, file.metadata!))).toBe(text(bytes));
  });

  it('prints the decrypted file in ini.v1 pretty format', () => {
    const file = iniStore.parseEncrypted(load(FORMAT));
    (collectLeaves(file.tree)[0] as Scalar).value = { type: 'str', value: 'baz' };
    expect(text(iniStore.emitPlain(file.tree))).toBe('[foo]\nbar = baz\n\n');
  });

  it('rewrites a changed section comment on its own line', () => {
    const file = iniStore.parseEncrypted(load(EXAMPLE));
    const comment = collectLeaves(file.tree).find((leaf): leaf is Comment => leaf.kind === 'comment')!;
    comment.text = 'An example file for use with sops!';
    const out = text(iniStore.emitEncrypted(file, file.metadata!));
    const [first, ...rest] = out.split('\n');
    expect(first).toBe('; An example file for use with sops!');
    const beforeSops = (s: string): string => s.slice(0, s.indexOf('[sops]'));
    expect(beforeSops(rest.join('\n'))).toBe(beforeSops(text(load(EXAMPLE)).split('\n').slice(1).join('\n')));
  });
});

describe('INI store reading', () => {
  const plain = (source: string) => iniStore.parsePlain(utf8.encode(source));

  it('follows ini.v1: DEFAULT first, comments after their key, quotes and inline comments removed', () => {
    const file = plain(
      [
        'top = 1',
        '; about the section',
        '[s]',
        '# about a',
        'a : "quoted"',
        'b = `x;y`',
        "c = plain ; trailing",
        'd = """line1',
        'line2"""',
        'e = con\\',
        '  tinued',
        '[DEFAULT]',
        'late = 2',
      ].join('\n'),
    );
    expect(shape(file.tree)).toEqual([
      ['DEFAULT', [['top', '1'], ['late', '2']]],
      [
        's',
        [
          ['#', 'about the section'],
          ['a', 'quoted'],
          ['#', 'about a'],
          ['b', 'x;y'],
          ['c', 'plain'],
          ['#', 'trailing'],
          ['d', 'line1\nline2'],
          ['e', 'continued'],
        ],
      ],
    ]);
  });

  it('re-renders changed values with the quoting they need and keeps everything else', () => {
    const source = '[s]\nk1 = a\nk2=b ; note\n  k3 = "c"\n';
    const file = iniStore.parsePlain(utf8.encode(source));
    const values = collectLeaves(file.tree).filter((leaf): leaf is Scalar => leaf.kind === 'scalar');
    values[0]!.value = { type: 'str', value: 'has # hash' };
    values[1]!.value = { type: 'str', value: ' padded ' };
    values[2]!.value = { type: 'str', value: 'two\nlines' };
    const out = text(iniStore.emitEncrypted(file, { version: '3.13.2' }));
    expect(out).toBe('[s]\nk1 = `has # hash`\nk2=" padded " ; note\n  k3 = """two\nlines"""\n\n[sops]\nversion = 3.13.2\n\n');
    expect(shape(iniStore.parseEncrypted(utf8.encode(out)).tree)).toEqual(shape(file.tree));
  });

  it('rewrites a changed comment made of lines and an inline part as lines above its key, CRLF kept', () => {
    const file = iniStore.parsePlain(utf8.encode('[s]\r\n; one\r\n; two\r\nk = v ; three\r\n'));
    const comment = collectLeaves(file.tree).find((leaf): leaf is Comment => leaf.kind === 'comment')!;
    expect(comment.text).toBe('one\r\n; two\r\n; three');
    comment.text = 'ENC[c]';
    const out = text(iniStore.emitEncrypted(file, { version: '1' }));
    expect(out).toBe('[s]\r\n; ENC[c]\r\nk = v\r\n\r\n[sops]\r\nversion = 1\r\n\r\n');
  });

  it('moves a [sops] section that is not last to the end', () => {
    const file = iniStore.parseEncrypted(utf8.encode('[sops]\nversion = 1\n\n[a]\nx = 1\n'));
    expect(text(iniStore.emitEncrypted(file, { version: '2' }))).toBe('[a]\nx = 1\n\n[sops]\nversion = 2\n\n');
  });

  it('gives typed errors for malformed INI, naming the line but not its text', () => {
    expect(codeOf(() => plain('[s\n'))).toBe('ini-unclosed-section');
    expect(codeOf(() => plain('[]\n'))).toBe('ini-empty-section-name');
    expect(codeOf(() => plain('[s]\nsecretvalue\n'))).toBe('ini-missing-delimiter');
    expect(codeOf(() => plain('[s]\nk = """open\nnever closed\n'))).toBe('ini-unclosed-quote');
    expect(codeOf(() => plain('[s]\nk = 1\nk = 2\n'))).toBe('ini-duplicate-key');
    expect(codeOf(() => plain('[s]\n[s]\n'))).toBe('ini-duplicate-section');
    expect(codeOf(() => plain('[s]\n= 1\n'))).toBe('ini-empty-key');
    expect(codeOf(() => plain('[sops]\nversion = 1\n'))).toBe('already-encrypted');
    expect(codeOf(() => iniStore.parseEncrypted(utf8.encode('[s]\nk = 1\n')))).toBe('metadata-not-found');
    expect(codeOf(() => iniStore.parseEncrypted(utf8.encode('[sops]\nage__list_1__map_enc = x\n')))).toBe('bad-flattened-key');
    try {
      plain('[s]\nsecretvalue\n');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('line 2');
      expect((error as Error).message).not.toContain('secretvalue');
    }
  });
});

describe('INI store writing', () => {
  const tree = (sections: Array<[string, Array<[string, string] | string>]>): Tree => ({
    branches: [
      {
        kind: 'map',
        items: sections.map(([name, items]) => ({
          kind: 'entry',
          key: name,
          value: {
            kind: 'map',
            items: items.map((item) =>
              typeof item === 'string'
                ? { kind: 'comment', text: item }
                : { kind: 'entry', key: item[0], value: { kind: 'scalar', value: { type: 'str', value: item[1] } } },
            ),
          },
        })),
      },
    ],
  });

  it('aligns "=" per section, writes comments before what they describe, skips an empty DEFAULT', () => {
    const out = text(
      iniStore.emitPlain(
        tree([
          ['DEFAULT', []],
          ['name', ['An example', ['first', 'John'], ['last_name', 'Smith'], 'about last_name', ['a=b', 'x']]],
        ]),
      ),
    );
    expect(out).toBe('; An example\n[name]\nfirst     = John\n; about last_name\nlast_name = Smith\n`a=b`     = x\n\n');
  });

  it('writes keys before any header without a header', () => {
    expect(text(iniStore.emitPlain(tree([['DEFAULT', [['k', 'v']]], ['s', [['x', 'y']]]])))).toBe('k = v\n\n[s]\nx = y\n\n');
  });

  it('writes every value so that it reads back the same', () => {
    const value = fc.string({ unit: fc.constantFrom('a', ' ', '\t', '"', "'", '`', '#', ';', '\\', '\n', '=', 'é'), maxLength: 12 });
    fc.assert(
      fc.property(value, (v) => {
        // ini.v1 cannot represent these at all: a """ inside a """ value, or a multi-line value
        // that also holds a backquote on its first line followed by """.
        fc.pre(!v.includes('"""'));
        const out = iniStore.emitPlain(tree([['s', [['k', v]]]]));
        const back = collectLeaves(iniStore.parsePlain(out).tree) as Scalar[];
        expect(back.map(leafText)).toEqual([v]);
      }),
      { numRuns: 500 },
    );
  });
});
