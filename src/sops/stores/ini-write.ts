import { SopsFormatError } from '../../errors.ts';
import type { Tree } from '../tree.ts';
import { goTrimSpace, scalarText } from './dotenv-ini-text.ts';

/**
 * Writing INI the way sops does through gopkg.in/ini.v1 1.67 with its default "pretty format"
 * (sops-format.md §6.4 Writing): ` = ` aligned per section, a blank line after every section,
 * comments on the line before what they describe.
 */

const utf8 = new TextEncoder();
const byteLength = (s: string): number => utf8.encode(s).length;

/** ini.v1 `hasSurroundedQuote`: quoted at both ends and nowhere else. */
export function hasSurroundedQuote(s: string, quote: string): boolean {
  return s.length >= 2 && s.startsWith(quote) && s.endsWith(quote) && s.indexOf(quote, 1) === s.length - 1;
}

/** Whether ini.v1 reads `value` written bare back as the same string. */
function readsBackBare(value: string): boolean {
  return (
    !value.endsWith('\\') && // would continue on the next line
    !value.startsWith('"""') &&
    !hasSurroundedQuote(value, '"') &&
    !hasSurroundedQuote(value, "'")
  );
}

/**
 * A value as ini.v1 writes it: `"""…"""` when it holds a newline or a backquote, backquotes when
 * it holds `#` or `;`, double quotes when it has space at either end. Where ini.v1's choice would
 * not read back as the same string (a `"` inside a space-padded value, a trailing `\`, a value
 * already wrapped in quotes) backquotes are used instead; sops itself would corrupt those values.
 */
export function renderIniValue(value: string): string {
  if (/[\n`]/.test(value)) return `"""${value}"""`;
  if (/[#;]/.test(value)) return `\`${value}\``;
  if (goTrimSpace(value) !== value) return value.includes('"') ? `\`${value}\`` : `"${value}"`;
  return readsBackBare(value) ? value : `\`${value}\``;
}

/** A key name as ini.v1 writes it: backquoted if it holds `"`, `=` or `:`, triple-quoted if a backquote. */
function renderKeyName(name: string): string {
  if (/["=:]/.test(name)) return `\`${name}\``;
  if (name.includes('`')) return `"""${name}"""`;
  return name;
}

export type CommentStyle = 'section' | 'key';

/**
 * Comment lines as ini.v1 writes them: each line of the text gets `; ` unless it already starts
 * with `;` or `#` (then one space after that character). A key comment's lines are trimmed, a
 * section comment's are not (ini.v1 differs there). An empty text writes nothing.
 */
export function renderCommentLines(text: string, style: CommentStyle): string[] {
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const first = line[0];
    if (first === '#' || first === ';') return `${first} ${goTrimSpace(line.slice(1))}`;
    // ini.v1 would index past the end of an empty line; a bare `;` reads back the same.
    if (line === '') return ';';
    return `; ${style === 'key' ? goTrimSpace(line) : line}`;
  });
}

/** One key of a section being written. */
export interface IniKey {
  readonly name: string;
  readonly value: string;
  readonly comment?: string;
}

/** A section's key lines, `=` aligned to the longest (quoted) key name, each line ending in `newline`. */
export function renderSectionBody(keys: readonly IniKey[], newline: string): string {
  const width = Math.max(0, ...keys.map((key) => byteLength(renderKeyName(key.name))));
  let out = '';
  for (const key of keys) {
    for (const line of renderCommentLines(key.comment ?? '', 'key')) out += line + newline;
    const name = renderKeyName(key.name);
    out += `${name}${' '.repeat(width - byteLength(name))} = ${renderIniValue(key.value)}${newline}`;
  }
  return out;
}

/** ini.v1 writes floats with `FormatFloat(v, 'f', 6, 64)` through sops's `valToString`. */
const iniFloat = (x: number): string => (Number.isFinite(x) ? x.toFixed(6) : x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN');

interface SectionModel {
  comment: string;
  readonly keys: Map<string, { value: string; comment: string }>;
}

/**
 * Writes a whole tree as sops's INI store does (`encodeTree` on an `ini.Empty()` file): `DEFAULT`
 * comes first and gets no header (nothing at all when it has no keys); sections or keys named twice
 * are merged the way ini.v1 merges them; a comment item after a key becomes that key's comment,
 * written before it, and the first item of a section, if a comment, is the section's comment.
 */
export function renderIniTree(tree: Tree, newline = '\n'): string {
  const sections = new Map<string, SectionModel>([['DEFAULT', { comment: '', keys: new Map() }]]);
  for (const branch of tree.branches) {
    for (const item of branch.items) {
      if (item.kind === 'comment') continue;
      if (item.value.kind !== 'map') {
        throw new SopsFormatError('complex-value', `INI section "${item.key}" must be a mapping of keys`);
      }
      let section = sections.get(item.key);
      if (!section) sections.set(item.key, (section = { comment: '', keys: new Map() }));
      let last: { value: string; comment: string } | undefined;
      item.value.items.forEach((child, index) => {
        if (child.kind === 'comment') {
          if (index === 0) section.comment = child.text;
          else if (last) last.comment = child.text;
          return;
        }
        const value = child.value;
        if (value.kind === 'map' || value.kind === 'seq') {
          throw new SopsFormatError('complex-value', `cannot use complex value in INI file (key "${child.key}")`);
        }
        const text = value.kind === 'null' ? '' : scalarText(value.value, iniFloat);
        last = section.keys.get(child.key);
        if (last) last.value = text;
        else section.keys.set(child.key, (last = { value: text, comment: '' }));
      });
    }
  }

  let out = '';
  let index = 0;
  for (const [name, section] of sections) {
    const first = index++ === 0;
    for (const line of renderCommentLines(section.comment, 'section')) out += line + newline;
    if (!first || name.toUpperCase() !== 'DEFAULT') out += `[${name}]${newline}`;
    else if (section.keys.size === 0) continue;
    const keys = [...section.keys].map(([key, { value, comment }]) => ({ name: key, value, comment }));
    out += renderSectionBody(keys, newline) + newline;
  }
  return out;
}
