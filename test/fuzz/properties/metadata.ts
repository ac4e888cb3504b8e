/**
 * The `sops` metadata on its own: random and mutated raw blocks given to `parseMetadata` are
 * typed or refused with a `SopsFormatError`; what is accepted writes back (`metadataToRaw`) to a
 * block that reads as the same metadata, also through INI/dotenv flattening; and random flattened
 * names given to `unflatten` are rebuilt or refused with a typed error.
 */
import { deepStrictEqual, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { SopsFormatError } from '../../../src/errors.ts';
import { flatten, unflatten } from '../../../src/sops/flatten.ts';
import { metadataToRaw, parseMetadata, type SopsMetadata } from '../../../src/sops/metadata.ts';
import { readSopsFile } from '../../../src/sops/sops-file.ts';
import type { RawObject, RawValue } from '../../../src/sops/tree.ts';
import { loadVectors } from '../../support/vectors.ts';
import { newStats, runCase, type FuzzStats } from '../support/outcome.ts';
import type { FuzzRun } from './round-trip.ts';

const FIELD_NAMES = [
  'age', 'pgp', 'gcp_kms', 'kms', 'azure_kv', 'hc_vault', 'hckms', 'key_groups', 'shamir_threshold', 'lastmodified', 'mac',
  'version', 'unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex', 'unencrypted_comment_regex',
  'encrypted_comment_regex', 'mac_only_encrypted', 'recipient', 'enc', 'fp', 'resource_id', 'created_at', 'arn', 'role',
  'vault_url', 'name', 'vault_address', 'engine_path', 'key_name', 'key_id', '__proto__', 'constructor', 'toString', 'valueOf',
];

const nameArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });

const scalarArb: fc.Arbitrary<RawValue> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123+02:00', 'ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]', '3.9.0', 'true', '2', '-1', '256', ''),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
);

const rawValueArb: fc.Arbitrary<RawValue> = fc.letrec<{ value: RawValue; object: RawObject }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalarArb, fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(nameArb, tie('value'), { maxKeys: 5, noNullPrototype: true }) as fc.Arbitrary<RawObject>,
})).value;

// Stores build ordinary objects (own keys, even `__proto__`), so no null-prototype ones here: zod's
// message formatter throws a TypeError on a null-prototype object whose `constructor.name` is not
// a string, which no file can produce.
const rawObjectArb = fc.dictionary(nameArb, rawValueArb, { maxKeys: 8, noNullPrototype: true }) as fc.Arbitrary<RawObject>;

/** The metadata blocks of every vector, as their stores read them. */
export function vectorMetadata(): RawObject[] {
  return loadVectors().flatMap((vector) => {
    const metadata = readSopsFile(new Uint8Array(readFileSync(vector.file)), vector.name).loaded.metadata;
    return metadata ? [metadata] : [];
  });
}

type Edit = { readonly path: readonly (string | number)[]; readonly value: RawValue | undefined };

/** Sets (or with `undefined` deletes) the value at `path`, walking lists by index modulo length. */
function applyEdit(root: RawObject, edit: Edit): RawObject {
  const copy = structuredClone(root);
  let node: RawValue = copy;
  for (const [index, step] of edit.path.entries()) {
    const last = index === edit.path.length - 1;
    if (Array.isArray(node)) {
      if (node.length === 0) return copy;
      const at: number = Number(step) % node.length;
      if (last) {
        if (edit.value === undefined) node.splice(at, 1);
        else node[at] = edit.value;
        return copy;
      }
      node = node[at]!;
    } else if (typeof node === 'object' && node !== null) {
      const keys: string[] = Object.keys(node);
      const key: string = typeof step === 'number' && keys.length > 0 ? keys[step % keys.length]! : String(step);
      if (last) {
        // defineProperty, as the stores do: `__proto__` must stay an own key, not a new prototype.
        if (edit.value === undefined) delete node[key];
        else Object.defineProperty(node, key, { value: edit.value, enumerable: true, writable: true, configurable: true });
        return copy;
      }
      if (!Object.hasOwn(node, key)) return copy;
      node = node[key]!;
    } else return copy;
  }
  return copy;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  path: fc.array(fc.oneof(fc.nat(), nameArb), { minLength: 1, maxLength: 5 }),
  value: fc.option(rawValueArb, { nil: undefined }),
});

/** Every scalar as the text flattening turns it into; nulls and empty collections gone, as flattening drops them. */
function asFlatText(value: RawValue): RawValue | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) {
    const items = value.map(asFlatText).filter((item): item is RawValue => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    const out: RawObject = {};
    for (const [key, item] of Object.entries(value)) {
      const flat = asFlatText(item);
      if (flat !== undefined) Object.defineProperty(out, key, { value: flat, enumerable: true, writable: true, configurable: true });
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return String(value);
}

function flatStoreCanHold(value: RawValue): boolean {
  if (Array.isArray(value)) return value.every((item) => asFlatText(item) !== undefined && flatStoreCanHold(item));
  if (typeof value === 'object' && value !== null) return Object.values(value).every(flatStoreCanHold);
  return true;
}

/** Accepted metadata writes back to a block that reads the same, directly and through flattening. */
function checkWritesBack(metadata: SopsMetadata): void {
  const raw = metadataToRaw(metadata);
  deepStrictEqual(metadataToRaw(parseMetadata(raw)), raw, 'the written block reads back as the same metadata');
  // A list item that flattens to nothing (null, {}, []) leaves a gap no flat store can hold; only
  // an unknown field can carry one, and sops drops unknown fields altogether.
  if (!flatStoreCanHold(raw)) return;
  const flat = unflatten(flatten(raw));
  deepStrictEqual(asFlatText(metadataToRaw(parseMetadata(flat))), asFlatText(raw), 'the flattened block reads back as the same metadata');
}

export async function fuzzMetadata({ runs, seed }: FuzzRun): Promise<FuzzStats> {
  const stats = newStats('metadata');
  const real = vectorMetadata();
  ok(real.length > 0, 'vectors give metadata blocks');
  const inputArb = fc.oneof(
    { weight: 1, arbitrary: rawObjectArb },
    { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.array(editArb, { minLength: 1, maxLength: 3 })).map(([index, edits]) => edits.reduce(applyEdit, real[index % real.length]!)) },
  );
  const property = fc.asyncProperty(inputArb, async (raw) => {
    const result = await runCase(stats, [], () => parseMetadata(raw));
    if (!result.ok) {
      ok(result.error instanceof SopsFormatError, `metadata refused with a ${result.error.name}, not a SopsFormatError`);
      return;
    }
    checkWritesBack(result.value);
  });
  await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  return stats;
}

const flatNameArb = fc
  .array(
    fc.oneof(
      fc.constantFrom('__map_', '__list_', '__list_0', '__list_1', '__list_01', '__list_x', '__list_99999999999', 'age', 'enc', 'key_groups', '_'),
      fc.string({ maxLength: 4 }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join(''));

export async function fuzzUnflatten({ runs, seed }: FuzzRun): Promise<FuzzStats> {
  const stats = newStats('unflatten');
  const property = fc.asyncProperty(fc.array(fc.tuple(flatNameArb, fc.string({ maxLength: 6 })), { maxLength: 8 }), async (entries) => {
    const result = await runCase(stats, [], () => unflatten(entries));
    if (!result.ok) ok(result.error instanceof SopsFormatError, `unflatten refused with a ${result.error.name}`);
    else deepStrictEqual(unflatten(flatten(result.value)), result.value, 'a rebuilt block flattens and rebuilds to itself');
  });
  await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  return stats;
}
