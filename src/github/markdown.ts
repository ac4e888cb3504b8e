/** Small Markdown helpers shared by the pure renderers of PR bodies and issues. */
import { versionId } from '../kms/names.ts';

export { shortKey } from '../kms/names.ts';

/** A CryptoKeyVersion name → `vN`; anything else unchanged. */
export function shortVersion(name: string): string {
  const id = versionId(name);
  return id === name ? name : `v${id}`;
}

/** Text safe inside a table cell: no pipes or newlines breaking the row, no HTML comments opened. */
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/<!--/g, '&lt;!--');
}

/** Inline code that survives backticks in the text. */
export function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** Folds long content under a summary line so the page stays readable (GitHub renders `<details>`). */
export function fold(summary: string, content: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${summary}</summary>\n\n${content}\n\n</details>`;
}

export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;
