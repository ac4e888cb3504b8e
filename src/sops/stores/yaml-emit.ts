/**
 * Writes YAML in sops's own layout, as go-yaml v3 with indent 4 writes it (sops-format.md §6.1
 * "Writing"): block style, sequences indented inside their key (`key:` / `    - item`), the keys of
 * a mapping in a sequence item starting on the `- ` line, literal blocks for multi-line strings.
 * Used for the `sops` metadata block and for a whole document when there is no source to keep.
 */
import type { Mapping, Node, RawObject, RawValue, Sequence } from '../tree.ts';
import { inlineString, literalBlock, scalarText } from './yaml-scalars.ts';

/** sops's default indentation (`stores.yaml.indent`). */
export const INDENT = 4;

/** The emitter's own model: tree nodes and metadata values both map onto it. */
type Value =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'map'; readonly items: readonly Item[]; readonly foot: readonly string[] }
  | { readonly t: 'seq'; readonly items: readonly Item[]; readonly foot: readonly string[] };

interface Item {
  readonly key?: string;
  readonly value: Value;
  /** Comment texts written on their own lines before the item. */
  readonly head: readonly string[];
  /** A comment text written after the item on its line. */
  readonly line?: string;
}

/**
 * The `sops:` block for `metadata`, its key at `column`; lines after the first carry their full
 * indentation. No final line break.
 */
export function renderSopsBlock(metadata: RawObject, column: number, newline = '\n'): string {
  const lines = renderItems([{ key: 'sops', value: fromRaw(metadata), head: [] }], [], column, column + INDENT, undefined);
  const first = lines[0] ?? '';
  return [first.slice(column), ...lines.slice(1)].join(newline);
}

/** A whole document in sops's layout, final line break included (`{}` for an empty mapping). */
export function renderDocument(root: Mapping, newline = '\n'): string {
  const value = fromNode(root);
  if (value.t === 'map' && value.items.length === 0) {
    return [...value.foot.map((c) => `#${c}`), '{}'].join(newline) + newline;
  }
  if (value.t !== 'map') return '{}' + newline;
  return renderItems(value.items, value.foot, 0, INDENT, undefined).join(newline) + newline;
}

// --- model -------------------------------------------------------------------------------------

function fromRaw(value: RawValue): Value {
  if (value === null) return { t: 'text', text: 'null' };
  if (typeof value === 'string') return { t: 'string', value };
  if (typeof value === 'bigint') return { t: 'text', text: value.toString() };
  if (typeof value === 'boolean') return { t: 'text', text: value ? 'true' : 'false' };
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { t: 'text', text: '.nan' };
    if (!Number.isFinite(value)) return { t: 'text', text: value > 0 ? '.inf' : '-.inf' };
    return { t: 'text', text: String(value) };
  }
  if (Array.isArray(value)) return { t: 'seq', items: value.map((v) => ({ value: fromRaw(v), head: [] })), foot: [] };
  return { t: 'map', items: Object.entries(value).map(([key, v]) => ({ key, value: fromRaw(v), head: [] })), foot: [] };
}

function fromNode(node: Node): Value {
  switch (node.kind) {
    case 'null':
      return { t: 'text', text: 'null' };
    case 'scalar':
      return node.value.type === 'str' ? { t: 'string', value: node.value.value } : { t: 'text', text: scalarText(node.value, { flow: false }) };
    case 'map':
      return withComments(node);
    case 'seq':
      return withComments(node);
  }
}

/**
 * Groups comment items with the item they precede, as sops does when it writes (head comments;
 * inline comments become the line comment of a scalar item); comments after the last item are
 * foot comments.
 */
function withComments(node: Mapping | Sequence): Value {
  const items: Item[] = [];
  let head: string[] = [];
  let inline: string[] = [];
  for (const item of node.items) {
    if (item.kind === 'comment') {
      (item.inline ? inline : head).push(item.text);
      continue;
    }
    const value = fromNode(item.kind === 'entry' ? item.value : item);
    const singleLine = value.t === 'text' || (value.t === 'string' && !value.value.includes('\n'));
    // Only a one-line scalar has a line to carry a comment; otherwise the comments go above.
    const line = singleLine && inline.length === 1 ? inline[0] : undefined;
    const above = line === undefined ? [...head, ...inline] : head;
    items.push({ ...(item.kind === 'entry' ? { key: item.key } : {}), value, head: above, ...(line !== undefined ? { line } : {}) });
    head = [];
    inline = [];
  }
  const foot = [...head, ...inline];
  return node.kind === 'map' ? { t: 'map', items, foot } : { t: 'seq', items, foot };
}

// --- rendering ---------------------------------------------------------------------------------

/**
 * Lines for the items of one collection. Mapping keys (or sequence dashes) stand at `column`;
 * nested collections and literal block content go to `childLevel`. With `prefix`, the first item
 * goes on the prefix's line (`- ` of an enclosing sequence item).
 */
function renderItems(
  items: readonly Item[],
  foot: readonly string[],
  column: number,
  childLevel: number,
  prefix: string | undefined,
): string[] {
  const out: string[] = [];
  const pad = ' '.repeat(column);
  items.forEach((item, i) => {
    const lead = i === 0 && prefix !== undefined ? prefix : pad;
    for (const c of item.head) out.push(`${i === 0 && prefix !== undefined ? prefix.replace(/- $/, '') : pad}#${c}`);
    const indicator = item.key !== undefined ? `${inlineString(item.key, { flow: false })}:` : '-';
    const v = item.value;
    const comment = item.line !== undefined ? ` #${item.line}` : '';
    if (v.t === 'text') {
      out.push(`${lead}${indicator} ${v.text}${comment}`);
    } else if (v.t === 'string') {
      // Multi-line strings as literal blocks, indented from the mapping's (or sequence's) level.
      const block = literalBlock(v.value, item.key !== undefined ? childLevel : column + INDENT);
      if (block === undefined) {
        out.push(`${lead}${indicator} ${inlineString(v.value, { flow: false })}${comment}`);
      } else {
        const [header, ...rest] = block.split('\n');
        out.push(`${lead}${indicator} ${header ?? ''}`, ...rest);
      }
    } else if (v.items.length === 0) {
      for (const c of v.foot) out.push(`${pad}#${c}`);
      out.push(`${lead}${indicator} ${v.t === 'map' ? '{}' : '[]'}${comment}`);
    } else if (item.key !== undefined) {
      out.push(`${lead}${indicator}${comment}`);
      out.push(...renderItems(v.items, v.foot, childLevel, childLevel + INDENT, undefined));
    } else {
      // A collection in a sequence item starts on the `- ` line (go-yaml's compact form).
      const dashLead = `${lead}- `;
      out.push(...renderItems(v.items, v.foot, column + 2, column + INDENT, dashLead));
    }
  });
  for (const c of foot) out.push(`${pad}#${c}`);
  return out;
}
