/**
 * What the YAML store remembers about a source file so it can write it back with only the changed
 * nodes re-rendered (`LoadedFile.layout` of a YAML file).
 */
import type { Mapping, Node, Scalar, Span } from '../tree.ts';

/** How a scalar sits in the source, to re-render it in place. */
export interface ScalarPlace {
  /** Inside a flow collection (`[a, b]`, `{a: b}`): plain scalars may not hold `,[]{}`. */
  readonly flow: boolean;
  /**
   * Column of what the scalar hangs from (its key, or its `-`): a literal block written in its
   * place is indented from there.
   */
  readonly parentColumn: number;
  /**
   * A timestamp's text before typing (unquoted, unescaped, folded): sops keeps the metadata's
   * timestamps as written. Absent for every other scalar, so most scalars can share one place.
   */
  readonly raw?: string;
}

/** A collection reached through an alias (`*name`): a copy in the tree, one `*name` in the text. */
export interface AliasCollection {
  readonly span: Span;
  readonly copy: Node;
  readonly anchor: Node;
  /** The copy as it was parsed, to tell whether anything in it changed. */
  readonly snapshot: string;
}

export interface DocumentLayout {
  /** The top-level `sops` entry: its text from the key to the end of its last line. */
  readonly sops?: { readonly span: Span; readonly column: number; readonly lineStart: number; readonly lineEnd: number };
  /** Where a new `sops` block goes when there is none: the end of the document's last line. */
  readonly appendAt: number;
  /** Column of the root mapping's keys. */
  readonly column: number;
  /** The root is a flow mapping (`{a: 1}`): a block `sops` key cannot be appended to it. */
  readonly flowRoot: boolean;
  /** The root mapping has no entries (`---` alone, or only `sops`). */
  readonly root: Mapping;
}

export interface YamlLayout {
  readonly kind: 'yaml';
  /** `\r\n` when the source uses it, so inserted lines match. */
  readonly newline: string;
  readonly documents: readonly DocumentLayout[];
  readonly places: ReadonlyMap<Scalar, ScalarPlace>;
  /** Scalars reached through an alias, mapped to the anchored scalar they copy. */
  readonly aliasScalars: ReadonlyMap<Scalar, Scalar>;
  readonly aliasCollections: readonly AliasCollection[];
}

export function isYamlLayout(value: unknown): value is YamlLayout {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'yaml';
}
