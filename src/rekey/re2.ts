/**
 * Go RE2 syntax (what sops uses for `path_regex`) translated to a JavaScript `RegExp` with the
 * same meaning, or a reason why JavaScript cannot express it. Only what differs is rewritten:
 * leading flag groups `(?i)`, `(?P<name>…)`, `\A`, `\z`, `\Q…\E`, POSIX classes, `\pL`, octal and
 * `\x{…}` escapes, RE2's ASCII-only `\s`, and literal `{`, `}` and `]` that the `u` flag rejects.
 * Constructs RE2 itself rejects (backreferences, lookaround) are refused, since sops would fail.
 */
export type Re2Translation =
  | { readonly ok: true; readonly regex: RegExp }
  | { readonly ok: false; readonly reason: string };

class Refusal extends Error {}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** RE2's `\s` is ASCII `[\t\n\f\r ]`; JavaScript's also matches `\v` and Unicode spaces. */
const RE2_SPACE = '\\t\\n\\f\\r ';

const JS_SYNTAX = '^$\\.*+?()[]{}|/';

const GENERAL_CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn Any'.split(' '),
);

/** Translates an RE2 pattern; the result searches unanchored, as Go's `MatchString` does. */
export function translateRe2(pattern: string): Re2Translation {
  try {
    const { source, flags } = new Translator(pattern).run();
    return { ok: true, regex: new RegExp(source, `${flags}u`) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    if (error instanceof SyntaxError) return { ok: false, reason: 'not a valid regular expression' };
    throw error;
  }
}

class Translator {
  private readonly pattern: string;
  private i = 0;
  private out = '';

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  run(): { source: string; flags: string } {
    const flags = this.leadingFlags();
    while (this.i < this.pattern.length) this.outside();
    return { source: this.out, flags };
  }

  /** `(?ims)` at the very start becomes the RegExp's flags; RE2's defaults are all off. */
  private leadingFlags(): string {
    const flags = new Set<string>();
    for (let m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)/.exec(this.pattern); m !== null; ) {
      const set = m[1] ?? '';
      const clear = m[2] ?? '';
      for (const flag of set) flags.add(jsFlag(flag));
      for (const flag of clear) flags.delete(jsFlag(flag));
      this.i += m[0].length;
      m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)/.exec(this.pattern.slice(this.i));
    }
    return [...flags].sort().join('');
  }

  private outside(): void {
    const c = this.pattern[this.i++] as string;
    switch (c) {
      case '\\':
        this.out += this.escape(false);
        return;
      case '[':
        this.out += this.characterClass();
        return;
      case '(':
        this.out += this.group();
        return;
      case '{': {
        const repeat = /^\{\d+(?:,\d*)?\}/.exec(this.pattern.slice(this.i - 1));
        if (repeat === null) {
          this.out += '\\{';
          return;
        }
        this.out += repeat[0];
        this.i += repeat[0].length - 1;
        return;
      }
      case '}':
      case ']':
        this.out += `\\${c}`;
        return;
      default:
        this.out += c;
    }
  }

  private group(): string {
    const rest = this.pattern.slice(this.i);
    if (!rest.startsWith('?')) return '(';
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) {
      this.i += named[0].length;
      return `(?<${named[1]}>`;
    }
    if (rest.startsWith('?:')) {
      this.i += 2;
      return '(?:';
    }
    if (/^\?<?[=!]/.test(rest)) throw new Refusal('lookaround is not RE2 syntax: sops rejects it too');
    const scoped = /^\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:/.exec(rest);
    if (scoped !== null) {
      this.i += scoped[0].length;
      const set = [...(scoped[1] ?? '')].map(jsFlag).join('');
      const clear = [...(scoped[2] ?? '')].map(jsFlag).join('');
      return `(?${set}${clear === '' ? '' : `-${clear}`}:`;
    }
    throw new Refusal('a flag group such as (?i) is only supported at the start of the pattern');
  }

  /** One escape after the backslash; `inClass` changes what `\s`, `\b` and friends may become. */
  private escape(inClass: boolean): string {
    const c = this.pattern[this.i++];
    if (c === undefined) throw new Refusal('trailing backslash');
    if ('dDwWtnfr'.includes(c)) return `\\${c}`;
    if (c === 'v') return '\\v';
    if (c === 'a') return '\\x07';
    if (c === 's') return inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
    if (c === 'S' && !inClass) return `[^${RE2_SPACE}]`;
    if ((c === 'b' || c === 'B') && !inClass) return `\\${c}`;
    if (c === 'A' && !inClass) return '(?<![\\s\\S])';
    if (c === 'z' && !inClass) return '(?![\\s\\S])';
    if (c === 'Q') return this.quoted();
    if (c === 'x') return this.hexEscape();
    if (c === 'p' || c === 'P') return this.unicodeClass(c);
    if (c >= '0' && c <= '7') return this.octal(c);
    // JavaScript's `u` flag accepts only its own syntax characters escaped; RE2 any punctuation.
    if (JS_SYNTAX.includes(c) || (inClass && c === '-')) return `\\${c}`;
    if (/[^0-9A-Za-z]/.test(c) && c.charCodeAt(0) < 0x80) return hex(c);
    throw new Refusal(`the escape \\${c} has no JavaScript equivalent here`);
  }

  private quoted(): string {
    const end = this.pattern.indexOf('\\E', this.i);
    const literal = this.pattern.slice(this.i, end === -1 ? undefined : end);
    this.i = end === -1 ? this.pattern.length : end + 2;
    return [...literal].map((ch) => (/[0-9A-Za-z]/.test(ch) || ch.charCodeAt(0) >= 0x80 ? ch : hex(ch))).join('');
  }

  private hexEscape(): string {
    const rest = this.pattern.slice(this.i);
    const braced = /^\{([0-9A-Fa-f]{1,8})\}/.exec(rest);
    if (braced !== null) {
      this.i += braced[0].length;
      return `\\u{${braced[1]}}`;
    }
    const two = /^[0-9A-Fa-f]{2}/.exec(rest);
    if (two === null) throw new Refusal('malformed \\x escape');
    this.i += 2;
    return `\\x${two[0]}`;
  }

  private unicodeClass(letter: 'p' | 'P'): string {
    const m = /^(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(this.pattern.slice(this.i));
    if (m === null) throw new Refusal('malformed \\p escape');
    this.i += m[0].length;
    const name = m[2] ?? m[3] ?? '';
    const negated = (m[1] === '^') !== (letter === 'P');
    const property = GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
    return `\\${negated ? 'P' : 'p'}{${property}}`;
  }

  /** RE2: `\0`… and `\1`–`\7` followed by more digits are octal; a lone `\1` is a backreference. */
  private octal(first: string): string {
    const more = /^[0-7]{0,2}/.exec(this.pattern.slice(this.i))?.[0] ?? '';
    if (first !== '0' && more === '') throw new Refusal('backreferences are not RE2 syntax');
    this.i += more.length;
    return `\\u{${Number.parseInt(first + more, 8).toString(16)}}`;
  }

  private characterClass(): string {
    let body = '';
    let negated = false;
    if (this.pattern[this.i] === '^') {
      negated = true;
      this.i++;
    }
    // A `]` right after `[` or `[^` is a literal in RE2 and an empty class in JavaScript.
    if (this.pattern[this.i] === ']') {
      body += '\\]';
      this.i++;
    }
    for (;;) {
      const c = this.pattern[this.i++];
      if (c === undefined) throw new Refusal('missing closing ]');
      if (c === ']') break;
      if (c === '\\') {
        body += this.escape(true);
      } else if (c === '[') {
        body += this.posixClass();
      } else {
        body += c;
      }
    }
    return `[${negated ? '^' : ''}${body}]`;
  }

  private posixClass(): string {
    const m = /^:(\^?)([a-z]+):\]/.exec(this.pattern.slice(this.i));
    if (m === null) return '\\[';
    const ranges = POSIX_CLASSES[m[2] ?? ''];
    if (ranges === undefined) throw new Refusal(`unknown POSIX class [:${m[2]}:]`);
    if (m[1] === '^') throw new Refusal('negated POSIX classes inside a class have no JavaScript form');
    this.i += m[0].length;
    return ranges;
  }
}

function jsFlag(flag: string): string {
  if (flag === 'i' || flag === 'm' || flag === 's') return flag;
  if (flag === 'U') throw new Refusal('the ungreedy flag (?U) has no JavaScript equivalent');
  throw new Refusal(`unknown flag ${flag}`);
}

function hex(ch: string): string {
  return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
