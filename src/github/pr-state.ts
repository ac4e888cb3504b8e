/**
 * The machine state a rekey pull request carries in a hidden marker at the end of its body, so
 * the app needs no database: what the pull request was made from (a hash of its inputs) and the
 * commit the app pushed. A rerun with the same inputs changes nothing; a pull request closed
 * unmerged is left alone until the inputs differ; a branch head that is not the commit recorded
 * here was moved by someone else.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const STATE_MARKER_PREFIX = '<!-- sops-rekey:state ';

export const PullState = z.object({
  v: z.literal(1),
  /** sha256 of the inputs (files, their bytes on the base, actions, target versions). */
  inputs: z.string().regex(/^[0-9a-f]{64}$/),
  /** The commit the app pushed to the branch. */
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  /** The default-branch commit the files were read from. */
  base: z.string().regex(/^[0-9a-f]{40}$/),
  urgent: z.boolean(),
});
export type PullState = z.infer<typeof PullState>;

/** One file to re-encrypt, as it enters the inputs hash. */
export interface RotationInput {
  readonly path: string;
  /** Git blob id of the file on the base branch: a changed file is a new input. */
  readonly blob: string;
  readonly action: string;
  readonly method: string;
  /** CryptoKey → target version. */
  readonly targets: readonly (readonly [string, string])[];
}

/** Order-independent hash of the inputs. */
export function inputsHash(inputs: readonly RotationInput[]): string {
  const canonical = [...inputs]
    .map((i) => [i.path, i.blob, i.action, i.method, [...i.targets].map(([k, v]) => `${k}=${v}`).sort()])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** Git's blob id of `bytes` (what `git hash-object` prints), computed without git. */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The hidden marker line. */
export function renderState(state: PullState): string {
  return `${STATE_MARKER_PREFIX}${JSON.stringify(state)} -->`;
}

/** The state in a body, or undefined when there is none or it does not parse (edited by hand). */
export function parseState(body: string): PullState | undefined {
  const start = body.lastIndexOf(STATE_MARKER_PREFIX);
  if (start < 0) return undefined;
  const end = body.indexOf(' -->', start);
  if (end < 0) return undefined;
  try {
    const parsed = PullState.safeParse(JSON.parse(body.slice(start + STATE_MARKER_PREFIX.length, end)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
