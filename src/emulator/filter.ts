/**
 * The subset of list filters the emulator understands: `state=X`, `state:X`, `state!=X`
 * (what key inventories use). Anything else is refused rather than ignored, so a caller never
 * mistakes an unfiltered list for a filtered one.
 */
import { invalidArgument } from './errors.ts';

export type StateFilter = (state: string) => boolean;

export function parseStateFilter(filter: string): StateFilter {
  const text = filter.trim();
  if (text === '') return () => true;
  const m = /^state\s*(=|:|!=)\s*"?([A-Z_]+)"?$/.exec(text);
  if (!m) throw invalidArgument(`The KMS emulator only supports filters on state (state=X, state!=X), got ${JSON.stringify(filter)}.`);
  const wanted = m[2]!;
  return m[1] === '!=' ? (s) => s !== wanted : (s) => s === wanted;
}
