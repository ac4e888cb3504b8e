/**
 * Places YAML comments in the tree where go-yaml v3 + sops put them (sops-format.md §2.2, §6.1).
 *
 * The collection a comment lands in decides its AAD, so this follows go-yaml's attachment rules:
 * - a comment after content on its line is a *line comment* of the last node on that line. For a
 *   scalar value or a sequence item sops makes it an inline comment placed before the item; for a
 *   key whose value is a collection (`key: # c`) it is the key's line comment, also before it.
 * - a run of comment lines directly above an item, no more indented than it, is that item's *head
 *   comment*: it belongs to the item's collection, even when it is less indented (go-yaml attaches
 *   it to the next token).
 * - any other comment line is a *foot comment* of the content before it: it belongs to the
 *   innermost enclosing block collection whose indentation is not deeper than the comment's column.
 *
 * Within a collection, comments and items are ordered by source position, except that a line
 * comment sorts just before its item (sops writes it there).
 *
 * A comment's `origin.span` is the whole `#…` token; its `text` is what follows the `#`.
 */
import type { Comment, Mapping, Sequence } from '../tree.ts';
import type { LineIndex } from './yaml-source.ts';

export type Container = Mapping | Sequence;

export interface ContainerInfo {
  readonly parent: Container | undefined;
  /** Column of the first item (key or `-`); -1 for an empty collection. */
  readonly indent: number;
  readonly flow: boolean;
}

/** A token a line comment can follow: a key, a scalar value or item, or a `-`. */
export interface Owner {
  readonly start: number;
  readonly container: Container;
  readonly item: object;
  readonly kind: 'key' | 'value' | 'item' | 'dash';
}

export interface ItemStart {
  readonly container: Container;
  readonly item: object;
  readonly column: number;
}

/** What the tree builder records about one document for comment placement. */
export class SourceIndex {
  readonly owners: Owner[] = [];
  /** Items by the offset of their first token (a key, or a sequence item's `-`). */
  readonly itemStarts = new Map<number, ItemStart>();
  readonly containers = new Map<Container, ContainerInfo>();
  /** Source position of every tree item, for ordering comments among them. */
  readonly sortKeys = new Map<object, number>();
}

/** A `#…` token of the source. */
export interface CommentToken {
  readonly offset: number;
  /** The token text, `#` included, line break excluded. */
  readonly source: string;
}

/** Adds each comment to the collection go-yaml + sops would put it in, in source order. */
export function placeComments(
  lines: LineIndex,
  index: SourceIndex,
  root: Mapping,
  comments: readonly CommentToken[],
): void {
  // Owners are recorded as the builder returns from nodes; placement needs them in source order.
  index.owners.sort((a, b) => a.start - b.start);
  const touched = new Set<Container>();
  for (const token of comments) {
    const placement = place(lines, index, root, token);
    const comment: Comment = {
      kind: 'comment',
      text: token.source.slice(1),
      ...(placement.inline ? { inline: true } : {}),
      origin: { span: { start: token.offset, end: token.offset + token.source.length }, text: token.source.slice(1) },
    };
    index.sortKeys.set(comment, placement.sortKey);
    (placement.container.items as Array<unknown>).push(comment);
    touched.add(placement.container);
  }
  for (const container of touched) {
    const key = (item: object) => index.sortKeys.get(item) ?? 0;
    (container.items as object[]).sort((a, b) => key(a) - key(b));
  }
}

interface Placement {
  readonly container: Container;
  readonly sortKey: number;
  readonly inline: boolean;
}

function place(lines: LineIndex, index: SourceIndex, root: Mapping, token: CommentToken): Placement {
  const text = lines.text;
  const offset = token.offset;
  const before = text.slice(lines.lineStart(offset), offset).trim();
  const isLineComment = before !== '' && !/^(---|\.\.\.)$/.test(before);

  if (isLineComment) {
    const owner = lastOwnerBefore(index, offset);
    if (owner) {
      const itemKey = index.sortKeys.get(owner.item) ?? offset;
      // sops: a scalar value's / sequence item's line comment is "inline"; a key's is not.
      return { container: owner.container, sortKey: itemKey - 0.5, inline: owner.kind !== 'key' };
    }
    return { container: root, sortKey: offset, inline: false };
  }

  const column = lines.column(offset);
  const next = index.itemStarts.get(lines.nextContent(offset));
  if (next && column <= next.column) return { container: next.container, sortKey: offset, inline: false };

  // A foot comment: the innermost block collection around the previous content that is not more
  // indented than the comment.
  const previous = lastOwnerBefore(index, offset);
  let container: Container | undefined = previous?.container;
  while (container) {
    const info = index.containers.get(container);
    if (!info) break;
    if (!info.flow && info.indent <= column) return { container, sortKey: offset, inline: false };
    container = info.parent;
  }
  return { container: root, sortKey: offset, inline: false };
}

function lastOwnerBefore(index: SourceIndex, offset: number): Owner | undefined {
  const owners = index.owners;
  let lo = 0;
  let hi = owners.length - 1;
  let found: Owner | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const owner = owners[mid];
    if (owner && owner.start < offset) {
      found = owner;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
