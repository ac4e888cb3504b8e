/**
 * Comparable forms of documents: a store's tree and a generated model both become plain JSON
 * (`shapeOfTree`, `shapeOfModel`), and a decrypted file gives the list of its encrypted leaves.
 */
import { recoverDataKey, type KeySources } from '../../../src/keys/data-key.ts';
import { decryptTree, leafRuleFor } from '../../../src/sops/crypt.ts';
import { readSopsFile } from '../../../src/sops/sops-file.ts';
import type { StoreFormat } from '../../../src/sops/store.ts';
import type { Mapping, Node, ScalarValue, Sequence, Tree } from '../../../src/sops/tree.ts';
import { goFloatText, plaintextBytes } from '../../../src/sops/values.ts';
import { walkTree } from '../../../src/sops/walk.ts';
import type { Entry, Value } from './documents.ts';

export type Shape = null | readonly [string, string] | { readonly m: readonly (readonly [string, Shape])[] } | { readonly s: readonly Shape[] };

export interface TreeShape {
  readonly branches: readonly Shape[];
  /** Every comment text in document order. Where sops moves a comment (line comments go before their key) does not count. */
  readonly comments: readonly string[];
}

const scalarShape = (value: ScalarValue): readonly [string, string] => {
  switch (value.type) {
    case 'bytes': {
      // The binary store reads bytes; decryption gives a string when they are UTF-8: same content.
      const text = utf8OrUndefined(value.value);
      return text === undefined ? ['bytes', Buffer.from(value.value).toString('hex')] : ['str', text];
    }
    case 'int':
      return ['int', value.value.toString()];
    case 'float':
      return ['float', floatKey(value.value)];
    default:
      return [value.type, String(value.value)];
  }
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const floatKey = (value: number): string => (Object.is(value, -0) ? '-0' : String(value));

export function shapeOfTree(tree: Tree, format: StoreFormat): TreeShape {
  const comments: string[] = [];
  const node = (value: Node): Shape => {
    switch (value.kind) {
      case 'null':
        return null;
      case 'scalar':
        return scalarShape(value.value);
      case 'map':
        return { m: mapEntries(value) };
      case 'seq':
        return { s: seqItems(value) };
    }
  };
  const mapEntries = (map: Mapping): (readonly [string, Shape])[] =>
    map.items.flatMap((item) => {
      if (item.kind === 'comment') {
        comments.push(item.text);
        return [];
      }
      return [[item.key, node(item.value)] as const];
    });
  const seqItems = (seq: Sequence): Shape[] =>
    seq.items.flatMap((item) => {
      if (item.kind === 'comment') {
        comments.push(item.text);
        return [];
      }
      return [node(item)];
    });
  let branches: Shape[] = tree.branches.map((branch) => ({ m: mapEntries(branch) }));
  // ini.v1 always lists a DEFAULT section first, empty or not; an empty one is not content.
  if (format === 'ini') branches = branches.map((branch) => ({ m: (branch as { m: (readonly [string, Shape])[] }).m.filter(([key, value]) => !(key === 'DEFAULT' && isEmptyMap(value))) }));
  return { branches, comments };
}

const isEmptyMap = (shape: Shape): boolean => shape !== null && 'm' in shape && shape.m.length === 0;

export function shapeOfModel(branches: readonly (readonly Entry[])[]): Shape[] {
  const value = (v: Value): Shape => {
    switch (v.t) {
      case 'null':
        return null;
      case 'str':
        return ['str', v.v];
      case 'int':
        return ['int', v.v.toString()];
      case 'float':
        return ['float', floatKey(v.v)];
      case 'bool':
        return ['bool', String(v.v)];
      case 'map':
        return { m: v.entries.map((entry) => [entry.key, value(entry.value)] as const) };
      case 'seq':
        return { s: v.items.map(value) };
    }
  };
  return branches.map((branch) => ({ m: branch.map((entry) => [entry.key, value(entry.value)] as const) }));
}

const INT64_LIMIT = 2 ** 63;

/**
 * What survives printing a plaintext and reading it again: Go's encoding/json and go-yaml write an
 * integral float without a fraction (`1`, `-0`, `71934179301915530`), which reads back as an int
 * (sops does the same); a printer may also write it in exponent form, which reads back as a float.
 * So every integral number in the int64 range becomes `num` with its shortest decimal text (Go's
 * `'f'` form, `-0` as `0`), whichever type it has; other floats keep theirs.
 */
export function asReadBack(shape: Shape): Shape {
  if (shape === null) return null;
  if (Array.isArray(shape)) {
    const [type, text] = shape as readonly [string, string];
    if (type === 'int') return ['num', text];
    if (type !== 'float') return shape;
    const value = Number(text);
    if (!Number.isInteger(value) || Math.abs(value) >= INT64_LIMIT) return shape;
    return ['num', Object.is(value, -0) ? '0' : goFloatText(value)];
  }
  if ('m' in shape) return { m: shape.m.map(([key, value]) => [key, asReadBack(value)] as const) };
  if ('s' in shape) return { s: shape.s.map(asReadBack) };
  return shape;
}

export interface EncryptedLeaf {
  readonly aad: string;
  readonly plaintext: string;
}

/**
 * Decrypts a file the way `decryptFile` does and lists its non-empty encrypted leaves (AAD,
 * plaintext as hex), in order. The `type:` field is left out: sops does not authenticate it, so a file whose
 * type was edited (`str` → `int` on `"1"`) still decrypts to the same bytes, as it does in sops.
 */
export async function encryptedLeaves(bytes: Uint8Array, name: string, sources: KeySources): Promise<EncryptedLeaf[]> {
  const file = readSopsFile(bytes, name);
  const { dataKey } = await recoverDataKey(file.metadata, sources);
  decryptTree(file.loaded.tree, dataKey, file.metadata, file.format);
  const leaves: EncryptedLeaf[] = [];
  walkTree(file.loaded.tree, leafRuleFor(file.format, file.metadata), {
    scalar(node, visit) {
      // An empty string is never encrypted and adds nothing to the MAC (sops-format.md §1.4): it
      // may move without any check noticing, in sops too, and it holds no secret.
      const bytes = plaintextBytes(node.value);
      if (visit.encrypt && bytes.length > 0) leaves.push({ aad: visit.aad, plaintext: Buffer.from(bytes).toString('hex') });
    },
    comment() {},
  });
  return leaves;
}

/** The decrypted tree of a file, as `shapeOfTree` gives it. */
export async function decryptedShape(bytes: Uint8Array, name: string, sources: KeySources): Promise<TreeShape> {
  const file = readSopsFile(bytes, name);
  const { dataKey } = await recoverDataKey(file.metadata, sources);
  decryptTree(file.loaded.tree, dataKey, file.metadata, file.format);
  return shapeOfTree(file.loaded.tree, file.format);
}
