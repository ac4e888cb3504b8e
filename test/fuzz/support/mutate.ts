/**
 * Mutations of a file's bytes, as a fuzzer describes them: positions are free naturals taken modulo
 * the length when applied, so fast-check can shrink a failing case to the smallest offsets.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate-line'; readonly line: number }
  | { readonly kind: 'swap-lines'; readonly a: number; readonly b: number }
  | { readonly kind: 'delete-line'; readonly line: number };

/**
 * Text that tends to reach the deeper parts of the stores: structure characters, the ENC[] prefix,
 * metadata names and markers, quoting, YAML anchors and documents, and bytes that are not UTF-8.
 */
const TOKENS: readonly string[] = [
  '\n', '\r\n', '\t', ' ', '"', "'", '`', '\\', '\\n', '\\u0000', '\\ud800', '{', '}', '[', ']', ',', ':', ': ', '=', '#', ';',
  '- ', '---\n', '...\n', '&a ', '*a', '!!binary ', '!!int ', '? ', '|', '>', '~', 'null', 'true', '0x10', '-0', '1e400',
  'ENC[', 'ENC[AES256_GCM,data:', ',iv:', ',tag:', ',type:int]', ',type:str]', 'sops', 'sops:', '[sops]\n', 'sops_',
  '__map_', '__list_0', '__list_9', 'mac', 'lastmodified', 'version', 'key_groups', 'shamir_threshold', 'encrypted_regex',
  'unencrypted_suffix', '_unencrypted', 'age', 'pgp', 'enc', 'recipient', '-----BEGIN AGE ENCRYPTED FILE-----',
  '\uFEFF', '\u2028', '\u00e9', '\u{1F600}',
];

const ODD_BYTES: readonly Uint8Array[] = [
  Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x00), Uint8Array.of(0xef, 0xbb, 0xbf),
];

const encoder = new TextEncoder();

const insertedBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(...TOKENS).map((token) => encoder.encode(token)),
  fc.constantFrom(...ODD_BYTES),
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // Mostly flips that keep ASCII ASCII, so more cases get past UTF-8 decoding into the parsers.
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 127 }) }, { weight: 1, arbitrary: fc.integer({ min: 128, max: 255 }) }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: insertedBytes }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('delete-line' as const), line: fc.nat() }),
);

/** One to three mutations, applied in order. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  return mutations.reduce(applyMutation, bytes);
}

export function applyMutation(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  const length = bytes.length;
  switch (mutation.kind) {
    case 'flip': {
      if (length === 0) return bytes;
      const out = Uint8Array.from(bytes);
      const at = mutation.at % length;
      out[at] = out[at]! ^ mutation.xor;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, length === 0 ? 0 : mutation.at % length);
    case 'insert': {
      const at = mutation.at % (length + 1);
      return concat(bytes.subarray(0, at), mutation.bytes, bytes.subarray(at));
    }
    case 'delete': {
      if (length === 0) return bytes;
      const at = mutation.at % length;
      return concat(bytes.subarray(0, at), bytes.subarray(at + mutation.length));
    }
    case 'duplicate-line': {
      const lines = splitLines(bytes);
      const at = mutation.line % lines.length;
      lines.splice(at, 0, lines[at]!);
      return joinLines(lines);
    }
    case 'swap-lines': {
      const lines = splitLines(bytes);
      const a = mutation.a % lines.length;
      const b = mutation.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return joinLines(lines);
    }
    case 'delete-line': {
      const lines = splitLines(bytes);
      lines.splice(mutation.line % lines.length, 1);
      return joinLines(lines);
    }
  }
}

/** Lines without their `\n`; a final newline gives a last empty line, so joining gives the input back. */
function splitLines(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  lines.push(bytes.subarray(start));
  return lines;
}

function joinLines(lines: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  lines.forEach((line, index) => {
    if (index > 0) parts.push(Uint8Array.of(0x0a));
    parts.push(line);
  });
  return concat(...parts);
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A short description of a case, for failure reports (never the file's content). */
export function describeMutations(mutations: readonly Mutation[]): string {
  return mutations
    .map((m) => (m.kind === 'insert' ? `insert@${m.at}:${JSON.stringify(new TextDecoder().decode(m.bytes))}` : JSON.stringify(m)))
    .join(' then ');
}
