/**
 * Random plaintext documents for every store, each kept twice: as a typed model (what the
 * document means) and as the text a person would write. Every string a store encrypts holds the
 * canary, so a message that shows a secret is caught; strings under an `_unencrypted` key are
 * public and hold no canary.
 */
import fc from 'fast-check';
import type { StoreFormat } from '../../../src/sops/store.ts';

/** Marks every generated secret string. It must never appear in an error message. */
export const CANARY = 'CANARY_5b1e9f';

export type Leaf =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'float'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'null' };
export type Value = Leaf | { readonly t: 'map'; readonly entries: readonly Entry[] } | { readonly t: 'seq'; readonly items: readonly Value[] };
export interface Entry {
  readonly key: string;
  readonly value: Value;
  /** A comment line written before the entry (YAML, dotenv, INI). */
  readonly comment?: string;
}

export interface PlainDocument {
  readonly format: StoreFormat;
  readonly bytes: Uint8Array;
  /** One list of entries per YAML document; one for every other text store; none for binary. */
  readonly branches: readonly (readonly Entry[])[];
  /** The comment texts in document order, as the store reads them (after `#` or `;`). */
  readonly comments: readonly string[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UNENCRYPTED_SUFFIX = '_unencrypted';

// ---- Scalars ------------------------------------------------------------------------------------

/** Unicode text (no lone surrogates), short. */
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

/** A secret: random text around the canary. */
export const secretArb: fc.Arbitrary<string> = fc.tuple(text(8), text(8)).map(([a, b]) => `${a}${CANARY}${b}`);

const intArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(INT64_MIN, INT64_MAX, INT64_MIN + 1n, INT64_MAX - 1n, 0n, -1n, 2n ** 53n + 1n, -(2n ** 31n)),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);

const floatArb = (specials: boolean): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(-0, 1e21, 1e-7, 1.5e-7, 0.1, 1.5, 1234567.25, 5e-324, Number.MAX_VALUE, -1e300, 2 ** 63, 1e20, 3),
    fc.double({ noNaN: !specials, noDefaultInfinity: !specials }),
  );

const leafArb = (specialFloats: boolean): fc.Arbitrary<Leaf> =>
  fc.oneof(
    { weight: 4, arbitrary: secretArb.map((v) => ({ t: 'str' as const, v })) },
    { weight: 1, arbitrary: fc.constant({ t: 'str' as const, v: '' }) },
    { weight: 2, arbitrary: intArb.map((v) => ({ t: 'int' as const, v })) },
    { weight: 2, arbitrary: floatArb(specialFloats).map((v) => ({ t: 'float' as const, v })) },
    { weight: 1, arbitrary: fc.boolean().map((v) => ({ t: 'bool' as const, v })) },
    { weight: 1, arbitrary: fc.constant({ t: 'null' as const }) },
  );

// ---- Trees (YAML, JSON) -----------------------------------------------------------------------------

const keyArb = (safe: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 5, arbitrary: safe }, { weight: 1, arbitrary: safe.map((key) => key + UNENCRYPTED_SUFFIX) });

const commentArb = (chars: fc.Arbitrary<string>) => fc.option(chars, { freq: 3, nil: undefined });

function treeArb(key: fc.Arbitrary<string>, leaf: fc.Arbitrary<Leaf>, comment: fc.Arbitrary<string | undefined>) {
  return fc.letrec<{ value: Value; map: Value; seq: Value }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('map'), tie('seq')),
    map: fc
      .uniqueArray(fc.record({ key, value: tie('value'), comment }), { maxLength: 4, selector: (entry) => entry.key })
      .map((entries) => ({ t: 'map' as const, entries: entries.map(dropUndefinedComment) })),
    seq: fc.array(tie('value'), { maxLength: 4 }).map((items) => ({ t: 'seq' as const, items })),
  }));
}

function branchArb(key: fc.Arbitrary<string>, value: fc.Arbitrary<Value>, comment: fc.Arbitrary<string | undefined>) {
  return fc
    .uniqueArray(fc.record({ key, value, comment }), { minLength: 1, maxLength: 6, selector: (entry) => entry.key })
    .map((entries) => entries.filter((entry) => entry.key !== 'sops').map(dropUndefinedComment).map(publicizeEntry));
}

const dropUndefinedComment = (entry: { key: string; value: Value; comment: string | undefined }): Entry =>
  entry.comment === undefined ? { key: entry.key, value: entry.value } : { key: entry.key, value: entry.value, comment: entry.comment };

/** Values under an `_unencrypted` key stay in clear text: they must not hold the canary. */
function publicizeEntry(entry: Entry): Entry {
  if (entry.key.endsWith(UNENCRYPTED_SUFFIX)) return { ...entry, value: publicize(entry.value) };
  if (entry.value.t === 'map') return { ...entry, value: { t: 'map', entries: entry.value.entries.map(publicizeEntry) } };
  if (entry.value.t === 'seq') return { ...entry, value: { t: 'seq', items: entry.value.items.map(publicizeItem) } };
  return entry;
}

function publicizeItem(value: Value): Value {
  if (value.t === 'map') return { t: 'map', entries: value.entries.map(publicizeEntry) };
  if (value.t === 'seq') return { t: 'seq', items: value.items.map(publicizeItem) };
  return value;
}

function publicize(value: Value): Value {
  switch (value.t) {
    case 'str':
      return { t: 'str', v: value.v.replaceAll(CANARY, 'PUBLIC') };
    case 'map':
      return { t: 'map', entries: value.entries.map((entry) => ({ ...entry, value: publicize(entry.value) })) };
    case 'seq':
      return { t: 'seq', items: value.items.map(publicize) };
    default:
      return value;
  }
}

// ---- YAML ---------------------------------------------------------------------------------------------

/** YAML 1.2 printable characters may stand in a double-quoted scalar; everything else is escaped. */
const YAML_NON_PRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f\ufeff\ufffe\uffff]/gu;

export function yamlQuote(value: string): string {
  const escaped = JSON.stringify(value).replace(YAML_NON_PRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // JSON leaves U+2028/U+2029 and C1 controls as they are; YAML needs those escaped too.
  return escaped.replace(/[\u2028\u2029\u0085]/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain scalar go-yaml v3 reads back as this same string. */
const PLAIN_SAFE = /^[A-Za-z][A-Za-z0-9_]*$/;
const YAML_WORDS = /^(true|false|null|yes|no|on|off|y|n)$/i;

function yamlScalar(leaf: Leaf, flavour: number): string {
  switch (leaf.t) {
    case 'str':
      return PLAIN_SAFE.test(leaf.v) && !YAML_WORDS.test(leaf.v) && flavour % 2 === 0 ? leaf.v : yamlQuote(leaf.v);
    case 'int':
      return leaf.v.toString();
    case 'float':
      if (Number.isNaN(leaf.v)) return '.nan';
      if (leaf.v === Infinity) return '.inf';
      if (leaf.v === -Infinity) return '-.inf';
      return floatLiteral(leaf.v);
    case 'bool':
      return leaf.v ? 'true' : 'false';
    case 'null':
      return ['null', '~', ''][flavour % 3]!;
  }
}

/** A float literal both YAML and JSON type as a float: `.0` added to integral values, `-0.0` for -0. */
export function floatLiteral(value: number): string {
  if (Object.is(value, -0)) return '-0.0';
  const plain = String(value);
  return /[.eE]/.test(plain) ? plain : `${plain}.0`;
}

/** YAML comment text: one line of printable characters. */
const yamlCommentArb = commentArb(text(12).map((t) => ` ${t.replace(/[\r\n\u2028\u2029\u0085]/gu, ' ').replace(YAML_NON_PRINTABLE, '?')}`));

function renderYamlBlock(entries: readonly Entry[], indent: string, lines: string[], comments: string[]): void {
  entries.forEach((entry, index) => {
    if (entry.comment !== undefined) {
      lines.push(`${indent}#${entry.comment}`);
      comments.push(entry.comment);
    }
    const key = yamlQuote(entry.key);
    const value = entry.value;
    if (value.t === 'map' || value.t === 'seq') {
      const empty = value.t === 'map' ? value.entries.length === 0 : value.items.length === 0;
      if (empty) lines.push(`${indent}${key}: ${value.t === 'map' ? '{}' : '[]'}`);
      else {
        lines.push(`${indent}${key}:`);
        renderYamlNode(value, `${indent}    `, lines, comments);
      }
      return;
    }
    const scalar = yamlScalar(value, index);
    lines.push(scalar === '' ? `${indent}${key}:` : `${indent}${key}: ${scalar}`);
  });
}

function renderYamlNode(value: Value, indent: string, lines: string[], comments: string[]): void {
  if (value.t === 'map') return renderYamlBlock(value.entries, indent, lines, comments);
  if (value.t !== 'seq') throw new Error('renderYamlNode: scalar');
  value.items.forEach((item, index) => {
    if (item.t === 'map' || item.t === 'seq') {
      const empty = item.t === 'map' ? item.entries.length === 0 : item.items.length === 0;
      if (empty) lines.push(`${indent}- ${item.t === 'map' ? '{}' : '[]'}`);
      else {
        lines.push(`${indent}-`);
        renderYamlNode(item, `${indent}    `, lines, comments);
      }
      return;
    }
    const scalar = yamlScalar(item, index);
    lines.push(scalar === '' ? `${indent}-` : `${indent}- ${scalar}`);
  });
}

export const yamlDocumentArb: fc.Arbitrary<PlainDocument> = (() => {
  const key = keyArb(text(6).filter((k) => k !== ''));
  const leaf = leafArb(true);
  const { value } = treeArb(key, leaf, yamlCommentArb);
  return fc.array(branchArb(key, value, yamlCommentArb), { minLength: 1, maxLength: 2 }).map((branches) => {
    const lines: string[] = [];
    const comments: string[] = [];
    branches.forEach((branch, index) => {
      if (index > 0) lines.push('---');
      renderYamlBlock(branch, '', lines, comments);
    });
    return { format: 'yaml' as const, bytes: encode(`${lines.join('\n')}\n`), branches, comments };
  });
})();

// ---- JSON ---------------------------------------------------------------------------------------------

const noSpecials = leafArb(false);

function renderJson(value: Value): string {
  switch (value.t) {
    case 'str':
      return JSON.stringify(value.v);
    case 'int':
      return value.v.toString();
    case 'float':
      return floatLiteral(value.v);
    case 'bool':
      return String(value.v);
    case 'null':
      return 'null';
    case 'map':
      return `{${value.entries.map((entry) => `${JSON.stringify(entry.key)}: ${renderJson(entry.value)}`).join(', ')}}`;
    case 'seq':
      return `[${value.items.map(renderJson).join(', ')}]`;
  }
}

export const jsonDocumentArb: fc.Arbitrary<PlainDocument> = (() => {
  const key = keyArb(text(6));
  const none = fc.constant(undefined);
  const { value } = treeArb(key, noSpecials, none);
  return branchArb(key, value, none).map((branch) => ({
    format: 'json' as const,
    bytes: encode(`${renderJson({ t: 'map', entries: branch })}\n`),
    branches: [branch],
    comments: [],
  }));
})();

// ---- dotenv -------------------------------------------------------------------------------------------

const DOTENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,11}$/;
const dotenvKeyArb = fc.stringMatching(DOTENV_KEY).filter((key) => !key.startsWith('sops_'));

/** A value the dotenv store reads back as itself: newlines are written `\n`, so `\n` text cannot be. */
const dotenvValueArb = fc.oneof(secretArb, fc.constant('')).filter((value) => !value.includes('\\n'));

export const dotenvDocumentArb: fc.Arbitrary<PlainDocument> = fc
  .uniqueArray(
    fc.record({ key: keyArb(dotenvKeyArb), value: dotenvValueArb, comment: commentArb(text(12).map((t) => t.replace(/\n/g, ' '))) }),
    { minLength: 1, maxLength: 8, selector: (entry) => entry.key },
  )
  .map((raw) => {
    const entries = raw.map((entry) => publicizeEntry(dropUndefinedComment({ ...entry, value: { t: 'str', v: entry.value } })));
    const lines: string[] = [];
    const comments: string[] = [];
    for (const entry of entries) {
      if (entry.comment !== undefined) {
        lines.push(`#${entry.comment}`);
        comments.push(entry.comment);
      }
      lines.push(`${entry.key}=${(entry.value as { v: string }).v.replaceAll('\n', '\\n')}`);
    }
    return { format: 'dotenv' as const, bytes: encode(`${lines.join('\n')}\n`), branches: [entries], comments };
  });

// ---- INI ----------------------------------------------------------------------------------------------

const INI_NAME = /^[A-Za-z][A-Za-z0-9_]{0,9}$/;
/** ini.v1 trims, unquotes, continues lines on `\` and cuts comments at `#`/`;`: none of those in values. */
const iniValue = (value: string): string =>
  value
    .replace(/[\r\n"`#;\\\u2028\u2029\u0085]/gu, '')
    .replace(/^[\s\u0085\ufeff]+|[\s\u0085\ufeff]+$/gu, '');
const iniCommentArb = commentArb(text(12).map((t) => iniValue(t)).filter((t) => t !== ''));

export const iniDocumentArb: fc.Arbitrary<PlainDocument> = fc
  .uniqueArray(
    fc.record({
      section: fc.stringMatching(INI_NAME).filter((name) => name !== 'sops' && name !== 'DEFAULT'),
      keys: fc.uniqueArray(
        fc.record({ key: keyArb(fc.stringMatching(INI_NAME)), value: fc.oneof(secretArb, fc.constant('')).map(iniValue), comment: iniCommentArb }),
        { minLength: 1, maxLength: 5, selector: (entry) => entry.key },
      ),
    }),
    { minLength: 1, maxLength: 3, selector: (section) => section.section },
  )
  .map((sections) => {
    const lines: string[] = [];
    const comments: string[] = [];
    const branch: Entry[] = [];
    for (const { section, keys } of sections) {
      lines.push(`[${section}]`);
      const entries = keys.map((entry) => publicizeEntry(dropUndefinedComment({ ...entry, value: { t: 'str', v: entry.value } })));
      for (const entry of entries) {
        if (entry.comment !== undefined) {
          lines.push(`; ${entry.comment}`);
          comments.push(entry.comment);
        }
        lines.push(`${entry.key} = ${(entry.value as { v: string }).v}`);
      }
      lines.push('');
      branch.push({ key: section, value: { t: 'map', entries } });
    }
    return { format: 'ini' as const, bytes: encode(lines.join('\n')), branches: [branch], comments };
  });

// ---- Binary -------------------------------------------------------------------------------------------

export const binaryDocumentArb: fc.Arbitrary<PlainDocument> = fc
  .tuple(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }))
  .map(([a, b]) => ({ format: 'binary' as const, bytes: concat(a, encode(CANARY), b), branches: [], comments: [] }));

export const documentArbs: Record<StoreFormat, fc.Arbitrary<PlainDocument>> = {
  yaml: yamlDocumentArb,
  json: jsonDocumentArb,
  dotenv: dotenvDocumentArb,
  ini: iniDocumentArb,
  binary: binaryDocumentArb,
};

/** The file name each store is picked by. */
export const FILE_NAMES: Record<StoreFormat, string> = {
  yaml: 'secrets.yaml',
  json: 'secrets.json',
  dotenv: 'secrets.env',
  ini: 'secrets.ini',
  binary: 'secrets.bin',
};

function encode(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export { INT64_MAX, INT64_MIN };
