/**
 * What one job's plan asks of the pull request: the files to re-encrypt, the versions they go to,
 * whether it is an urgent rescue, and the hash of the inputs (stored in the PR's state marker).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RekeyJobResult } from '../rekey/job.ts';
import { rotationTargets } from './branch-name.ts';
import { gitBlobId, inputsHash, type RotationInput } from './pr-state.ts';

export interface Rotation {
  readonly files: readonly string[];
  /** Sorted target CryptoKeyVersion names. */
  readonly targets: readonly string[];
  readonly urgent: boolean;
  /** Earliest deadline of an urgent file. */
  readonly deadline: string | undefined;
  readonly inputs: string;
}

/** The rotation the plan asks for, or undefined when no file is to be re-encrypted. */
export async function describeRotation(result: RekeyJobResult, root: string): Promise<Rotation | undefined> {
  const inputs: RotationInput[] = [];
  const targets: string[] = [];
  const deadlines: string[] = [];
  let urgent = false;
  for (const { file, action } of result.plan.files) {
    if (action.kind !== 'rekey' && action.kind !== 'rescue') continue;
    const bytes = await readFile(path.join(root, ...file.path.split('/')));
    inputs.push({ path: file.path, blob: gitBlobId(bytes), action: action.kind, method: action.method, targets: [...action.target] });
    targets.push(...action.target.values());
    if (action.kind === 'rescue') {
      urgent = true;
      if (action.deadline) deadlines.push(action.deadline);
    }
  }
  if (inputs.length === 0) return undefined;
  return {
    files: inputs.map((i) => i.path).sort(),
    targets: rotationTargets(targets),
    urgent,
    deadline: deadlines.sort()[0],
    inputs: inputsHash(inputs),
  };
}
