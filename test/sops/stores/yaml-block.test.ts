import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBlockYaml } from '../../../src/sops/stores/yaml-block.ts';
import { parseYamlDocuments } from '../../../src/sops/stores/yaml-parse.ts';
import type { ParsedYaml } from '../../../src/sops/stores/yaml-parse.ts';
import type { Node } from '../../../src/sops/tree.ts';
import { VECTORS_DIR as VECTORS } from '../../support/vectors.ts';


/**
 * Everything a reader hands on, as plain data: the tree with origins and comments, each scalar's
 * place, the metadata and the document layouts.
 */
function describeParsed(parsed: ParsedYaml): unknown {
  const { places } = parsed.layout;
  const node = (n: Node): unknown => {
    switch (n.kind) {
      case 'null':
        return n;
      case 'scalar':
        return { ...n, place: places.get(n) };
      case 'map':
        return { kind: 'map', items: n.items.map((item) => (item.kind === 'entry' ? { key: item.key, value: node(item.value) } : item)) };
      case 'seq':
        return { kind: 'seq', items: n.items.map((item) => (item.kind === 'comment' ? item : node(item))) };
    }
  };
  const json = JSON.stringify(
    {
      branches: parsed.branches.map(node),
      sops: parsed.sops,
      documents: parsed.layout.documents.map(({ root: _root, ...rest }) => rest),
      newline: parsed.layout.newline,
      places: [...places.values()],
      aliasScalars: parsed.layout.aliasScalars.size,
      aliasCollections: parsed.layout.aliasCollections.length,
    },
    (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value),
  );
  return JSON.parse(json);
}

type Outcome = { readonly kind: 'read'; readonly value: unknown } | { readonly kind: 'error'; readonly code: unknown };

function general(text: string): Outcome {
  try {
    return { kind: 'read', value: describeParsed(parseYamlDocuments(text)) };
  } catch (error) {
    return { kind: 'error', code: (error as { code?: unknown }).code };
  }
}

describe('fast block YAML reader', () => {
  const vectors = readdirSync(VECTORS).filter((name) => /\.ya?ml$/.test(name));

  it.each(vectors)('reads %s exactly as the general reader does', (name) => {
    const text = readFileSync(path.join(VECTORS, name), 'utf8');
    const fast = readBlockYaml(text);
    // Every shared vector is plain block YAML: the fast reader must take it, not hand it back.
    expect(fast).toBeDefined();
    expect(general(text)).toEqual({ kind: 'read', value: describeParsed(fast as ParsedYaml) });
  });

  it.each([
    ['a flow mapping', 'a: {b: 1}\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['an escape', 'a: "x\\ty"\n'],
    ['a multi-line plain scalar', 'a: b\n  c\n'],
    ['a folded block', 'a: >\n  x\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['CRLF line breaks', 'a: 1\r\nb: 2\r\n'],
    ['a tab', 'a:\tb\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['an integer key', '1: a\n'],
    ['a uint64', 'a: 18446744073709551615\n'],
    ['a mapping on a value line', 'a: b: c\n'],
    ['a top-level sequence', '- a\n'],
    ['nesting deeper than any sops file', Array.from({ length: 150 }, (_, i) => `${' '.repeat(i)}k${i}:\n`).join('') + `${' '.repeat(150)}v: 1\n`],
  ])('hands %s back to the general reader', (_what, text) => {
    expect(readBlockYaml(text)).toBeUndefined();
  });

  it('reads generated block YAML exactly as the general reader does, and refuses what it refuses', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        runs++;
        const text = generateYaml(mulberry32(seed));
        const expected = general(text);
        const fast = readBlockYaml(text);
        if (fast === undefined) return;
        taken++;
        // Taken by the fast reader: read by the general one too, to the same result.
        expect(expected, text).toEqual({ kind: 'read', value: describeParsed(fast) });
      }),
      { numRuns: 1500 },
    );
    // The generator is tuned so that most texts stay in the subset; otherwise this test proves little.
    expect(taken / runs).toBeGreaterThan(0.3);
  });
});

// --- a generator of sops-like YAML, mostly within the fast reader's subset --------------------

const KEYS = ['a', 'b', 'key', 'my_key', 'app.kubernetes.io/name', 'x-y', 'data', 'k8s', '1', 'true', 'null', 'y', 'n', 'on', 'sops', 'Z9'];
const SCALARS = [
  'value', 'hello world', 'ENC[AES256_GCM,data:AbC=,iv:dGVzdA==,tag:eA==,type:str]', '-1', '-.5', '0x1F', '0o17', '017', '1_000',
  '1.5', '1e3', '.inf', '-.Inf', '.nan', '~', 'null', 'Null', 'true', 'False', 'yes', '2024-01-02', '2001-12-14t21:59:43.10-05:00',
  '"quoted"', '""', "'single'", "'it''s'", "''", '"with \\" escape"', 'a: b', 'x #not a comment', 'a#b', 'a:b', 'http://x/y?z=1',
  '- x', '-x', '--', '---', '-_a', '-#', '-', '[1, 2]', '[]', '{}', '{a: 1}', '&anchor v', '*alias', '!!str 1', '99999999999999999999', '9223372036854775807',
  '-9223372036854775809', 'é ü', '@at', '`tick', '%pct', '?q', ':c', ',comma', 'trailing  ', '"unterminated', "'unterminated",
];
const COMMENTS = ['# note', '#', '#  spaced  ', '# a: b', '#ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:comment]'];
const BLOCK_LINES = ['line one', 'second: line', '  more indented', '# not a comment', '', '-----BEGIN AGE ENCRYPTED FILE-----'];
const GARBAGE = ['\tkey: v', 'key: v\r', '---', '...', 'a: [1, 2]', '  bad: indent', 'k: "open', '- stray', 'plain line', '%YAML 1.2', 'x: |2\n   y'];

/** A small deterministic PRNG, so a failing seed reproduces. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateYaml(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chance = (p: number): boolean => rand() < p;
  const step = pick([2, 4]);
  const lines: string[] = [];
  const rare = (p: number) => chance(p);

  const trivia = (indent: number): void => {
    if (rare(0.12)) lines.push(chance(0.5) ? '' : ' '.repeat(pick([1, 3, 8])));
    if (rare(0.12)) lines.push(' '.repeat(Math.max(0, pick([0, indent, indent + step, indent - step]))) + pick(COMMENTS));
  };
  const tail = (): string => (rare(0.15) ? pick([' ', '   ']) : '') + (rare(0.2) ? ` ${pick(COMMENTS)}` : '');
  const scalar = (): string => (chance(0.7) ? pick(SCALARS.slice(0, 3)) : pick(SCALARS));
  const key = (): string => (chance(0.8) ? `${pick(KEYS.slice(0, 6))}${Math.floor(rand() * 1000)}` : pick(KEYS));

  const block = (indent: number): void => {
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const line = i === 0 && chance(0.9) ? 'first line' : pick(BLOCK_LINES);
      lines.push(line === '' ? (chance(0.8) ? '' : ' '.repeat(indent)) : ' '.repeat(indent) + line);
    }
  };

  const mapping = (indent: number, depth: number, prefix?: string): void => {
    const n = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < n; i++) {
      const first = i === 0 && prefix !== undefined;
      if (!first) trivia(indent);
      const lead = first ? prefix : ' '.repeat(indent);
      const column = lead.length;
      const k = key();
      const kind = depth >= 3 ? 'scalar' : pick(['scalar', 'scalar', 'scalar', 'map', 'seq', 'block', 'null']);
      if (kind === 'scalar') lines.push(`${lead}${k}: ${scalar()}${tail()}`);
      else if (kind === 'null') lines.push(`${lead}${k}:${tail()}`);
      else if (kind === 'block') {
        lines.push(`${lead}${k}: ${chance(0.8) ? pick(['|', '|-']) : pick(['|+', '>', '| # c'])}`);
        block(column + step);
      } else if (kind === 'map') {
        lines.push(`${lead}${k}:${tail()}`);
        mapping(column + step, depth + 1);
      } else {
        lines.push(`${lead}${k}:${tail()}`);
        sequence(chance(0.3) ? column : column + step, depth + 1);
      }
    }
  };

  const sequence = (indent: number, depth: number): void => {
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      trivia(indent);
      const lead = ' '.repeat(indent) + pick(['- ', '- ', '-   ']);
      const kind = depth >= 3 ? 'scalar' : pick(['scalar', 'scalar', 'map', 'block']);
      if (kind === 'scalar') lines.push(`${lead}${scalar()}${tail()}`);
      else if (kind === 'map') mapping(lead.length, depth + 1, lead);
      else {
        lines.push(`${lead}|${chance(0.5) ? '-' : ''}`);
        block(indent + step);
      }
    }
  };

  if (rare(0.1)) lines.push(pick(COMMENTS));
  mapping(0, 0);
  if (chance(0.3)) {
    lines.push('sops:', '    age:', '        - recipient: age1xyz', '          enc: |', '            -----BEGIN AGE ENCRYPTED FILE-----');
    lines.push('            YWJj', '            -----END AGE ENCRYPTED FILE-----', '    lastmodified: "2024-01-01T00:00:00Z"');
    lines.push(`    mac: ${pick(['ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]', '2024-01-01T00:00:00Z'])}`, '    version: 3.8.1');
  }
  if (rare(0.1)) lines.push(pick(COMMENTS));
  if (rare(0.1)) lines.splice(Math.floor(rand() * (lines.length + 1)), 0, pick(GARBAGE));
  return lines.join('\n') + (chance(0.9) ? '\n' : '');
}
