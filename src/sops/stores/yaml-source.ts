/** Line and column arithmetic over a YAML source text. */

export class LineIndex {
  /** Where each line starts: built on the first `line` call (error positions), not per read. */
  private starts: number[] | undefined;
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** 0-based line of an offset. */
  line(offset: number): number {
    const starts = (this.starts ??= lineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Scans back to the previous line break: a line's length, where an index of every line costs the file's. */
  lineStart(offset: number): number {
    return offset <= 0 ? 0 : this.text.lastIndexOf('\n', offset - 1) + 1;
  }

  /** End of the offset's line, before its `\r\n` or `\n`. */
  lineEnd(offset: number): number {
    let end = this.text.indexOf('\n', offset);
    if (end === -1) end = this.text.length;
    if (end > 0 && this.text[end - 1] === '\r') end--;
    return end;
  }

  column(offset: number): number {
    return offset - this.lineStart(offset);
  }

  /** The offset of the first non-blank character at or after `offset` that is not in a comment line. */
  nextContent(offset: number): number {
    const t = this.text;
    let i = offset;
    for (;;) {
      while (i < t.length && (t[i] === ' ' || t[i] === '\t' || t[i] === '\r' || t[i] === '\n')) i++;
      if (i < t.length && t[i] === '#') {
        const nl = t.indexOf('\n', i);
        if (nl === -1) return t.length;
        i = nl + 1;
        continue;
      }
      return i;
    }
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) starts.push(at + 1);
  return starts;
}

/**
 * Where a node's props (`!tag`, `&anchor`) begin, scanning back from the node's own text: replacing
 * a value must replace its tag too (`!!binary …` → `ENC[…]`).
 */
export function propsStart(text: string, start: number): number {
  let at = start;
  for (;;) {
    let end = at;
    while (end > 0 && /[ \t\r\n]/.test(text[end - 1] ?? '')) end--;
    let begin = end;
    while (begin > 0 && !/[ \t\r\n]/.test(text[begin - 1] ?? '')) begin--;
    const token = text.slice(begin, end);
    if (token.length > 0 && (token.startsWith('!') || token.startsWith('&'))) {
      at = begin;
      continue;
    }
    return at;
  }
}
