/**
 * Terminal presentation for the demo: colours (only on a terminal, and never with `NO_COLOR`),
 * aligned tables and ISO times. Kept apart from the story so the story reads as steps.
 */

export interface Style {
  readonly heading: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly good: (text: string) => string;
  readonly warn: (text: string) => string;
  readonly bad: (text: string) => string;
  readonly strong: (text: string) => string;
}

const plain = (text: string): string => text;

/** SGR wrapping; each helper resets only what it set, so nested use stays readable. */
const sgr =
  (on: number, off: number) =>
  (text: string): string =>
    `\u001b[${on}m${text}\u001b[${off}m`;

export const PLAIN_STYLE: Style = { heading: plain, dim: plain, good: plain, warn: plain, bad: plain, strong: plain };

export const COLOUR_STYLE: Style = {
  heading: (text) => sgr(1, 22)(sgr(36, 39)(text)),
  dim: sgr(2, 22),
  good: sgr(32, 39),
  warn: sgr(33, 39),
  bad: sgr(31, 39),
  strong: sgr(1, 22),
};

/**
 * Colours when stdout is a terminal and the user has not opted out (`NO_COLOR`, no-color.org);
 * a pipe or a test's child process gets plain text.
 */
export function styleFor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>> = process.env): Style {
  if (stream.isTTY !== true) return PLAIN_STYLE;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return PLAIN_STYLE;
  return COLOUR_STYLE;
}

/** Visible width: escape sequences take no column. */
export function visibleWidth(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/**
 * Rows under a header, each column padded to its widest cell (escape sequences not counted), two
 * spaces between columns, the last column not padded so lines carry no trailing blanks.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => visibleWidth(row[column] ?? ''))));
  const line = (row: readonly string[]): string =>
    indent +
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - visibleWidth(cell))))
      .join('  ')
      .trimEnd();
  return all.map(line);
}

/** `2025-06-02T09:00:00Z`: seconds are enough for a story told in hours and days. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
