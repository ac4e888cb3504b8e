/** Line and column arithmetic over a YAML source text. */

export class LineIndex {
  private readonly starts: number[] = [0];
  readonly text: string;

  constructor(text: string) {
    this.text = text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  /** 0-based line of an offset. */
  line(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  lineStart(offset: number): number {
    return this.starts[this.line(offset)] ?? 0;
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
