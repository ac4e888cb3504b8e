import { SopsFormatError } from '../errors.ts';

/**
 * Which leaves a file encrypts (sops-format.md §4): one of six rules, stored in the metadata.
 * Key rules look at every mapping key on the leaf's path; comment rules at the comments directly
 * before it, at its own level and every enclosing one.
 */

export const SELECTOR_KINDS = [
  'unencrypted_suffix',
  'encrypted_suffix',
  'unencrypted_regex',
  'encrypted_regex',
  'unencrypted_comment_regex',
  'encrypted_comment_regex',
] as const;
export type SelectorKind = (typeof SELECTOR_KINDS)[number];

export interface Selector {
  readonly kind: SelectorKind;
  readonly value: string;
}

/** What sops assumes when a file names no rule (§4.1). */
export const DEFAULT_SELECTOR: Selector = { kind: 'unencrypted_suffix', value: '_unencrypted' };

/** A compiled rule: decides for one leaf, given its path and the active comment runs. */
export interface LeafRule {
  /**
   * @param path mapping keys from the root to the leaf (for a comment: to its collection)
   * @param activeComments per nesting level, the run of comments directly before this leaf
   * @param isComment the leaf is itself a comment (the last entry of the innermost run)
   */
  shouldEncrypt(path: readonly string[], activeComments: readonly (readonly string[])[], isComment: boolean): boolean;
}

export const ENCRYPT_EVERYTHING: LeafRule = { shouldEncrypt: () => true };

export function compileSelector(selector: Selector): LeafRule {
  const { kind, value } = selector;
  switch (kind) {
    case 'unencrypted_suffix':
      return { shouldEncrypt: (path) => !path.some((key) => key.endsWith(value)) };
    case 'encrypted_suffix':
      return { shouldEncrypt: (path) => path.some((key) => key.endsWith(value)) };
    case 'unencrypted_regex': {
      const regex = goRegex(value, kind);
      return { shouldEncrypt: (path) => !path.some((key) => regex.test(key)) };
    }
    case 'encrypted_regex': {
      const regex = goRegex(value, kind);
      return { shouldEncrypt: (path) => path.some((key) => regex.test(key)) };
    }
    case 'unencrypted_comment_regex': {
      const regex = goRegex(value, kind);
      return { shouldEncrypt: (_path, runs) => !runs.some((run) => run.some((c) => regex.test(c))) };
    }
    case 'encrypted_comment_regex': {
      const regex = goRegex(value, kind);
      return {
        shouldEncrypt: (_path, runs, isComment) =>
          runs.some((run, level) => {
            // A marker comment stays clear: the comment being decided is not its own evidence.
            const candidates = isComment && level === runs.length - 1 ? run.slice(0, -1) : run;
            return candidates.some((c) => regex.test(c));
          }),
      };
    }
  }
}

/**
 * Go RE2 patterns as JS regexes. RE2's leading inline flags (`(?i)`, `(?s)`, `(?m)`) become JS
 * flags; `\A` and `\z` become anchors. What JS cannot express is a format error naming the rule.
 */
export function goRegex(pattern: string, rule: string): RegExp {
  let source = pattern;
  let flags = '';
  const inline = /^\(\?([imsU]+)\)/.exec(source);
  if (inline) {
    if (inline[1]!.includes('U')) throw new SopsFormatError('unsupported-regex', `${rule}: the RE2 flag U has no JavaScript equivalent`);
    flags = [...new Set(inline[1]!)].join('');
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new SopsFormatError('unsupported-regex', `${rule} "${pattern}" is not a regular expression this tool can use: ${(error as Error).message}`);
  }
}
